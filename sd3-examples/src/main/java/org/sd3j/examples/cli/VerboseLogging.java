package org.sd3j.examples.cli;

import picocli.CommandLine;
import picocli.CommandLine.IExecutionStrategy;
import picocli.CommandLine.ParseResult;

/**
 * Runs the parsed command, first lowering slf4j-simple's level from WARN (simplelogger.properties) to INFO when
 * {@code --verbose} was given. It sets a JVM-wide system property, so only {@link Sd3#main} uses it, and it must
 * run before the first logger is created (slf4j-simple reads its configuration once).
 */
final class VerboseLogging implements IExecutionStrategy {
    static final String DEFAULT_LEVEL = "org.slf4j.simpleLogger.defaultLogLevel";

    private final IExecutionStrategy delegate = new CommandLine.RunLast();

    @Override
    public int execute(ParseResult parsed) {
        if (Sd3Command.verbose(parsed)) {
            System.setProperty(DEFAULT_LEVEL, "info");
        }
        return delegate.execute(parsed);
    }
}
