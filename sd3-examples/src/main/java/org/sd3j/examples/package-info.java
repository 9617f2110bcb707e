/**
 * The {@code sd3} command line, the bundled default model and embedding examples.
 */
package org.sd3j.examples;
