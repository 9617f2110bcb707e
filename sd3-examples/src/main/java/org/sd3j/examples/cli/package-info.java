/**
 * The {@code sd3} command line (picocli): {@link org.sd3j.examples.cli.Sd3} is the entry point,
 * {@link org.sd3j.examples.cli.Sd3Command} the top-level command and each subcommand a class of its own that
 * parses its arguments, calls the library once and prints a short summary. Errors the library raises on purpose
 * ({@link org.sd3j.Sd3Exception}, {@link IllegalArgumentException}) become {@code sd3: error: <message>} and
 * exit code 1; usage errors exit with 2.
 */
package org.sd3j.examples.cli;
