package org.sd3j.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.sd3j.Sd3Exception;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

class ErrorReporterTest {

    /** A command that throws what it is told to. */
    @Command(name = "sd3")
    static final class Failing implements Runnable {
        @Option(names = "--verbose")
        boolean verbose;

        private final RuntimeException failure;

        Failing(RuntimeException failure) {
            this.failure = failure;
        }

        @Override
        public void run() {
            throw failure;
        }
    }

    private static CliRun run(RuntimeException failure, String... args) {
        ErrorReporter errors = new ErrorReporter();
        CommandLine cmd = new CommandLine(new Failing(failure))
                .setParameterExceptionHandler(errors)
                .setExecutionExceptionHandler(errors);
        return CliRun.of(cmd, args);
    }

    @Test
    void sd3ExceptionPrintsOnlyItsMessage() {
        CliRun run = run(new Sd3Exception("model folder has no transformer/"));

        assertThat(run.exitCode()).isEqualTo(1);
        assertThat(run.err()).isEqualTo("sd3: error: model folder has no transformer/" + System.lineSeparator());
    }

    @Test
    void illegalArgumentPrintsOnlyItsMessage() {
        CliRun run = run(new IllegalArgumentException("steps must be >= 1, found 0"));

        assertThat(run.exitCode()).isEqualTo(1);
        assertThat(run.err()).isEqualTo("sd3: error: steps must be >= 1, found 0" + System.lineSeparator());
    }

    @Test
    void unexpectedExceptionAlwaysPrintsItsStackTrace() {
        CliRun run = run(new IllegalStateException("bug"));

        assertThat(run.exitCode()).isEqualTo(1);
        assertThat(run.err())
                .startsWith("sd3: error: java.lang.IllegalStateException: bug")
                .contains("\tat ");
    }

    @Test
    void unknownOptionIsAUsageErrorWithTheUsage() {
        CliRun run = run(new IllegalStateException("not reached"), "--nope");

        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.err()).startsWith("sd3: error: Unknown option: '--nope'").contains("Usage: sd3");
    }
}
