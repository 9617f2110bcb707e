package org.sd3j.schedule;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class FlowMatchScheduleTest {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(FlowMatchScheduleTest.class);

    private static final Schedule FLOW = Schedule.flowMatch();

    /** One (steps, shift) table of golden/sigmas.json (reference: SAI sd3_infer; diffusers: FlowMatchEuler). */
    record GoldenTable(int steps, double shift, float[] reference, float[] diffusers, float[] diffusersTimesteps) {
        @Override
        public String toString() {
            return "steps=" + steps + ", shift=" + shift;
        }
    }

    static List<GoldenTable> goldenTables() throws IOException {
        try (InputStream in = FlowMatchScheduleTest.class.getResourceAsStream("/golden/sigmas.json")) {
            assertThat(in).as("golden/sigmas.json on the test class path").isNotNull();
            JsonNode root = new ObjectMapper().readTree(in);
            List<GoldenTable> tables = new ArrayList<>();
            for (JsonNode t : root.get("tables")) {
                tables.add(new GoldenTable(t.get("steps").asInt(), t.get("shift").asDouble(),
                        floats(t.get("reference").get("sigmas")), floats(t.get("diffusers").get("sigmas")),
                        floats(t.get("diffusers").get("timesteps"))));
            }
            return tables;
        }
    }

    private static float[] floats(JsonNode array) {
        float[] out = new float[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) array.get(i).asDouble(); // values are float32 printed as doubles: exact round trip
        }
        return out;
    }

    static Stream<GoldenTable> tables() throws IOException {
        return goldenTables().stream();
    }

    @Nested
    class Golden {
        @Test
        void fileHoldsTheExpectedTables() throws IOException {
            assertThat(goldenTables()).extracting(GoldenTable::toString).containsExactly("steps=1, shift=1.0",
                    "steps=4, shift=1.0", "steps=4, shift=3.0", "steps=28, shift=3.0", "steps=50, shift=3.0");
        }

        @ParameterizedTest(name = "{0}")
        @MethodSource("org.sd3j.schedule.FlowMatchScheduleTest#tables")
        void matchesReferenceWithin1e6(GoldenTable table) {
            float[] sigmas = FLOW.sigmas(table.steps(), TimeShift.of(table.shift())).toArray();
            assertThat(sigmas).hasSize(table.steps() + 1).containsExactly(table.reference(), within(1e-6f));
        }

        @ParameterizedTest(name = "{0}")
        @MethodSource("org.sd3j.schedule.FlowMatchScheduleTest#tables")
        void matchesDiffusersWithin1e6(GoldenTable table) {
            float[] sigmas = FLOW.sigmas(table.steps(), TimeShift.of(table.shift())).toArray();
            assertThat(sigmas).hasSize(table.steps() + 1).containsExactly(table.diffusers(), within(1e-6f));
        }

        @ParameterizedTest(name = "{0}")
        @MethodSource("org.sd3j.schedule.FlowMatchScheduleTest#tables")
        void isBitIdenticalToDiffusers(GoldenTable table) {
            // The schedule mirrors diffusers' precisions step by step (float32 grid, float64 linspace and shift,
            // float32 cast), so every value must be the same float, not merely close.
            float[] sigmas = FLOW.sigmas(table.steps(), TimeShift.of(table.shift())).toArray();
            int identical = 0;
            for (int i = 0; i < sigmas.length; i++) {
                if (Float.floatToIntBits(sigmas[i]) == Float.floatToIntBits(table.diffusers()[i])) {
                    identical++;
                }
            }
            LOG.info("sigmas {}: {} of {} bit-identical to diffusers", table, identical, sigmas.length);
            assertThat(identical).isEqualTo(sigmas.length);
        }

        @ParameterizedTest(name = "{0}")
        @MethodSource("org.sd3j.schedule.FlowMatchScheduleTest#tables")
        void timestepsAreBitIdenticalToDiffusers(GoldenTable table) {
            Sigmas sigmas = FLOW.sigmas(table.steps(), TimeShift.of(table.shift()));
            for (int i = 0; i < table.steps(); i++) {
                assertThat(sigmas.timestep(i)).as("timestep %d", i).isEqualTo(table.diffusersTimesteps()[i]);
            }
        }
    }

    @Nested
    class SpecGoldenNumbers {
        @Test
        void shiftThreeFourSteps() {
            assertThat(FLOW.sigmas(4, TimeShift.of(3.0)).toArray())
                    .containsExactly(new float[] {1.0f, 0.8576924f, 0.6021506f, 0.0089286f, 0f}, within(1e-6f));
        }

        @Test
        void shiftThreeTwentyEightStepsStart() {
            float[] s = FLOW.sigmas(28, TimeShift.of(3.0)).toArray();
            assertThat(s).hasSize(29);
            assertThat(new float[] {s[0], s[1], s[2], s[3]})
                    .containsExactly(new float[] {1.0f, 0.987381f, 0.974108f, 0.960129f}, within(1e-6f));
        }

        @Test
        void shiftThreeTwentyEightStepsEnd() {
            float[] s = FLOW.sigmas(28, TimeShift.of(3.0)).toArray();
            assertThat(new float[] {s[26], s[27], s[28]})
                    .containsExactly(new float[] {0.110906f, 0.0089286f, 0f}, within(1e-6f));
        }

        @Test
        void lastLevelIsShiftedTwice() {
            // sigma_min = shift(0.001) = 0.0029940; the last level is shift(sigma_min) = 0.0089286, not 0.002994.
            TimeShift shift = TimeShift.of(3.0);
            float last = FLOW.sigmas(10, shift).get(9);
            assertThat((double) last).isCloseTo(shift.apply(shift.apply(0.001)), within(1e-7));
            assertThat(last).isNotCloseTo(0.002994f, within(1e-4f));
        }

        @Test
        void timestepIsSigmaTimesThousand() {
            Sigmas s = FLOW.sigmas(28, TimeShift.of(3.0));
            for (int i = 0; i < s.size(); i++) {
                assertThat(s.timestep(i)).isEqualTo(s.get(i) * 1000f);
            }
            assertThat(s.timestep(0)).isEqualTo(1000f);
            assertThat(s.timestep(27)).isCloseTo(8.9286f, within(1e-3f));
            assertThat(s.timestep(28)).isEqualTo(0f);
        }
    }

    @Nested
    class Levels {
        @ParameterizedTest
        @ValueSource(ints = {1, 2, 3, 4, 7, 28, 50, 100, 1000})
        void haveStepsPlusOneStrictlyDecreasingLevelsFromOneToZero(int steps) {
            Sigmas s = FLOW.sigmas(steps, TimeShift.of(3.0));
            assertThat(s.steps()).isEqualTo(steps);
            assertThat(s.size()).isEqualTo(steps + 1);
            assertThat(s.get(0)).isEqualTo(1f);
            assertThat(s.get(steps)).isEqualTo(0f);
            for (int i = 1; i < s.size(); i++) {
                assertThat(s.get(i)).isLessThan(s.get(i - 1));
            }
        }

        @Test
        void oneStepGoesFromOneToZero() {
            assertThat(FLOW.sigmas(1, TimeShift.of(3.0)).toArray()).containsExactly(1f, 0f);
        }

        @Test
        void unshiftedIsLinearInTime() {
            // shift 1: linspace(1000, 1, N) / 1000.
            float[] s = FLOW.sigmas(4, TimeShift.NONE).toArray();
            assertThat(s).containsExactly(new float[] {1f, 0.667f, 0.334f, 0.001f, 0f}, within(1e-7f));
        }

        @Test
        void isDeterministic() {
            assertThat(FLOW.sigmas(28, TimeShift.of(3.0))).isEqualTo(FLOW.sigmas(28, TimeShift.of(3.0)));
        }

        @Test
        void rejectsZeroSteps() {
            assertThatThrownBy(() -> FLOW.sigmas(0, TimeShift.of(3.0))).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("steps must be >= 1, found 0");
        }

        @Test
        void rejectsNullShift() {
            assertThatThrownBy(() -> FLOW.sigmas(4, null)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("shift must be non-null, found null");
        }
    }

    @Nested
    class DynamicShift {
        /**
         * diffusers with use_dynamic_shifting: the training grid stays unshifted (sigma_max = 1, sigma_min =
         * float32(1/1000)), timesteps = linspace(1000, 1000 * sigma_min, N) in float64, sigma = e^mu / (e^mu +
         * (1/(t/1000) - 1)) in float64, cast to float32, then a final 0. Written out independently here.
         */
        private float[] expected(int steps, double mu) {
            double start = 1000.0;
            double stop = (double) (1f / 1000f) * 1000.0;
            float[] out = new float[steps + 1];
            for (int i = 0; i < steps; i++) {
                double t = steps == 1 ? start : start + (stop - start) * i / (steps - 1);
                double sigma = t / 1000.0;
                out[i] = (float) (Math.exp(mu) / (Math.exp(mu) + (1.0 / sigma - 1.0)));
            }
            return out;
        }

        @ParameterizedTest
        @ValueSource(ints = {1, 4, 28})
        void shiftsTheUnshiftedGridOnce(int steps) {
            double mu = 0.93;
            float[] actual = FLOW.sigmas(steps, TimeShift.dynamic(mu)).toArray();
            assertThat(actual).containsExactly(expected(steps, mu), within(1e-7f));
        }

        @Test
        void lastLevelIsShiftedOnceUnlikeTheStaticShift() {
            // mu = ln 3: the last level is shift_3(0.001) = 0.0029940, where static shift 3 gives 0.0089286.
            Sigmas dynamic = FLOW.sigmas(4, TimeShift.dynamic(Math.log(3)));
            assertThat(dynamic.get(3)).isCloseTo(0.0029940f, within(1e-7f));
            assertThat(FLOW.sigmas(4, TimeShift.of(3)).get(3)).isCloseTo(0.0089286f, within(1e-7f));
        }

        @Test
        void endsWithZero() {
            Sigmas s = FLOW.sigmas(28, TimeShift.dynamic(1.15));
            assertThat(s.get(28)).isEqualTo(0f);
            assertThat(s.get(0)).isEqualTo(1f);
        }
    }

    @Nested
    class Naming {
        @Test
        void nameIsFlowMatch() {
            assertThat(FLOW.name()).isEqualTo("flow_match");
            assertThat(FLOW).hasToString("flow_match");
        }

        @Test
        void hasNoFixedSteps() {
            assertThat(FLOW.fixedSteps()).isEmpty();
        }

        @Test
        void isASingleton() {
            assertThat(Schedule.flowMatch()).isSameAs(Schedule.flowMatch());
        }
    }
}
