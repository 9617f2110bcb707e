package org.sd3j.examples.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

/** The top-level {@code sd3} command: global options and the list of subcommands; it does no work itself. */
@Command(name = "sd3",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        synopsisSubcommandLabel = "COMMAND",
        description = "Stable Diffusion 3 on the JVM.",
        subcommands = {
                GenerateCommand.class,
                InspectCommand.class,
                ConvertCommand.class,
                TrainCommand.class,
                DpoCommand.class,
                DpoPairsCommand.class,
                EvalCommand.class,
                TrainDefaultModelCommand.class,
                CommandLine.HelpCommand.class,
        },
        footer = {"", "Run 'sd3 COMMAND --help' for a command's arguments."})
public final class Sd3Command implements Runnable {
    static final String VERBOSE = "--verbose";

    @Spec
    private CommandSpec spec;

    @Option(names = VERBOSE, scope = ScopeType.INHERIT,
            description = "Print the stack trace of an error and the library's INFO log.")
    private boolean verbose;

    /** Whether {@value #VERBOSE} was given to {@code sd3} or to any subcommand on the parsed command line. */
    static boolean verbose(ParseResult parsed) {
        for (ParseResult r = parsed; r != null; r = r.subcommand()) {
            if (r.hasMatchedOption(VERBOSE)) {
                return true;
            }
        }
        return false;
    }

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "Missing required subcommand");
    }
}
