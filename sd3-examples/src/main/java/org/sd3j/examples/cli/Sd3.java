package org.sd3j.examples.cli;

import picocli.CommandLine;

/**
 * Entry point of the {@code sd3} command (the {@code Main-Class} of {@code sd3.jar}).
 * {@link #commandLine()} gives the same configured command without exiting the JVM, for tests and embedding.
 */
public final class Sd3 {
    private Sd3() {
    }

    public static void main(String[] args) {
        int exitCode = commandLine()
                .setExecutionStrategy(new VerboseLogging())
                .execute(args);
        System.exit(exitCode);
    }

    /**
     * The {@code sd3} command with its subcommands and error reporting: {@code execute(args)} returns 0 on
     * success, 1 when the work failed ({@code sd3: error: ...} on the error stream) and 2 on a usage error.
     */
    public static CommandLine commandLine() {
        ErrorReporter errors = new ErrorReporter();
        return new CommandLine(new Sd3Command())
                .setParameterExceptionHandler(errors)
                .setExecutionExceptionHandler(errors);
    }
}
