package org.sd3j.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.sd3j.onnx.runtime.ExecutionProvider;
import org.sd3j.onnx.runtime.OnnxOptions;

import picocli.CommandLine;

class RuntimeOptionsTest {

    static GenerateCommand parse(String... args) {
        GenerateCommand c = new GenerateCommand();
        new CommandLine(c).parseArgs(args);
        return c;
    }

    @Test
    void theCpuByDefault() {
        assertThat(parse("a fox").runtime.onnxOptions()).isEqualTo(OnnxOptions.cpu());
    }

    @Test
    void cudaTakesAnOptionalDeviceId() {
        assertThat(parse("a fox", "--cuda").runtime.onnxOptions()).isEqualTo(OnnxOptions.cuda(0));
        assertThat(parse("--cuda", "1", "a fox").runtime.onnxOptions()).isEqualTo(OnnxOptions.cuda(1));
        assertThat(parse("--cuda=2", "a fox").runtime.onnxOptions()).isEqualTo(OnnxOptions.cuda(2));
    }

    @Test
    void aPromptAfterCudaIsThePromptNotADeviceId() {
        GenerateCommand c = parse("--cuda", "a fox");

        assertThat(c.runtime.onnxOptions().provider()).isEqualTo(ExecutionProvider.cuda(0));
        assertThat(c.positionalPrompt).isEqualTo("a fox");
    }

    @Test
    void cudaFallbackAsksForCudaWithTheCpuFallback() {
        OnnxOptions o = parse("a fox", "--cuda-fallback", "--threads", "4").runtime.onnxOptions();

        assertThat(o.provider()).isEqualTo(ExecutionProvider.cuda(0));
        assertThat(o.fallback()).isEqualTo(OnnxOptions.Fallback.CPU);
        assertThat(o.intraOpThreads()).isEqualTo(4);
        assertThat(parse("a fox", "--cuda", "1", "--cuda-fallback").runtime.onnxOptions().provider())
                .isEqualTo(ExecutionProvider.cuda(1));
    }

    @Test
    void spinningIsNamedAsOnTheCommandLineAndDefaultsToDuringRuns() {
        assertThat(parse("a fox").runtime.onnxOptions().spinning()).isEqualTo(OnnxOptions.Spinning.DURING_RUN);
        assertThat(parse("a fox", "--spinning", "off").runtime.onnxOptions().spinning())
                .isEqualTo(OnnxOptions.Spinning.OFF);
        assertThat(parse("a fox", "--spinning", "Always").runtime.onnxOptions().spinning())
                .isEqualTo(OnnxOptions.Spinning.ALWAYS);
        assertThat(parse("a fox", "--spinning", "during-run").runtime.onnxOptions().spinning())
                .isEqualTo(OnnxOptions.Spinning.DURING_RUN);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> parse("a fox", "--spinning", "sometimes"))
                .isInstanceOf(CommandLine.ParameterException.class)
                .hasMessageContaining("expected off, during-run or always, found sometimes");
    }

    @Test
    void cudaFallbackResolvesToTheCpuOnThisBuild() {
        assertThat(parse("a fox", "--cuda-fallback").runtime.resolve().provider()).isEqualTo(ExecutionProvider.CPU);
    }

    @Test
    void benchmarkRunsDefaultToThree() {
        assertThat(parse("a fox", "--benchmark").benchmark).isEqualTo(3);
        assertThat(parse("a fox", "--benchmark", "5").benchmark).isEqualTo(5);
        assertThat(parse("a fox").benchmark).isNull();
        GenerateCommand c = parse("--benchmark", "a fox");
        assertThat(c.benchmark).isEqualTo(3);
        assertThat(c.positionalPrompt).isEqualTo("a fox");
    }
}
