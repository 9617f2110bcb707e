/**
 * The {@code sd3} command's bundled default model: {@link org.sd3j.examples.defaultmodel.DefaultModelWriter}
 * writes it at build time (a small SD3-architecture model with random weights, until the trained one lands) and
 * {@link org.sd3j.examples.defaultmodel.DefaultModel} extracts it from the classpath.
 */
package org.sd3j.examples.defaultmodel;
