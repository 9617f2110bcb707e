package org.sd3j.sampler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.List;

import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.sd3j.Sd3Exception;

class SamplersTest {
    private static final String SERVICES = "META-INF/services/" + Sampler.class.getName();
    private static final String HINT = ". A sampler from another jar is found when that jar is on the class path"
            + " and lists its class in META-INF/services/org.sd3j.sampler.Sampler.";

    /**
     * Delegates everything to the test class loader, but filters the services files it reports: it can hide the
     * test class path's file (as if the plug-in jar were absent) and add extra ones.
     */
    static final class ServicesView extends ClassLoader {
        private final boolean hideTestServices;
        private final List<URL> extra;

        ServicesView(boolean hideTestServices, List<URL> extra) {
            super(SamplersTest.class.getClassLoader());
            this.hideTestServices = hideTestServices;
            this.extra = extra;
        }

        @Override
        public Enumeration<URL> getResources(String name) throws IOException {
            List<URL> urls = new ArrayList<>();
            String testRoot = TestOnlySampler.class.getProtectionDomain().getCodeSource().getLocation().toString();
            for (URL url : Collections.list(getParent().getResources(name))) {
                if (!(hideTestServices && url.toString().startsWith(testRoot))) {
                    urls.add(url);
                }
            }
            if (name.equals(SERVICES)) {
                urls.addAll(extra);
            }
            return Collections.enumeration(urls);
        }
    }

    private static ClassLoader withoutTestProvider() {
        return new ServicesView(true, List.of());
    }

    private static ClassLoader withExtraServices(Path dir, String content) throws IOException {
        Path file = dir.resolve("org.sd3j.sampler.Sampler");
        Files.writeString(file, content);
        return new ServicesView(false, List.of(file.toUri().toURL()));
    }

    @Nested
    class ForName {
        @ParameterizedTest(name = "{0}")
        @CsvSource({
            "euler, org.sd3j.sampler.FlowMatchEulerSampler",
            "heun, org.sd3j.sampler.FlowMatchHeunSampler",
            "dpmpp_2m, org.sd3j.sampler.DpmPlusPlus2MSampler",
            "euler_stochastic, org.sd3j.sampler.StochasticEulerSampler"})
        void findsBuiltIns(String name, String className) {
            Sampler sampler = Samplers.forName(name);
            assertThat(sampler.getClass().getName()).isEqualTo(className);
            assertThat(sampler.name()).isEqualTo(name);
        }

        @ParameterizedTest(name = "{0}")
        @CsvSource({"EULER, euler", "Heun, heun", "DpmPP_2M, dpmpp_2m", "Euler_Stochastic, euler_stochastic"})
        void isCaseInsensitive(String given, String name) {
            assertThat(Samplers.forName(given).name()).isEqualTo(name);
        }

        @Test
        void findsAProviderFromAnotherClassPathEntry() {
            assertThat(Samplers.forName("test_only")).isInstanceOf(TestOnlySampler.class);
        }

        @Test
        void matchesAMixedCaseProviderNameCaseInsensitively() {
            // TestOnlySampler.name() is "Test_Only".
            assertThat(Samplers.forName("TEST_ONLY")).isInstanceOf(TestOnlySampler.class);
        }

        @Test
        void returnsAFreshInstanceEachTime() {
            assertThat(Samplers.forName("dpmpp_2m")).isNotSameAs(Samplers.forName("dpmpp_2m"));
        }

        @Test
        void unknownNameListsEverySamplerOnTheClassPath() {
            assertThatThrownBy(() -> Samplers.forName("foo")).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("sampler must be one of [dpmpp_2m, euler, euler_stochastic, heun, test_only],"
                            + " found 'foo'" + HINT);
        }

        @Test
        void rejectsNull() {
            assertThatThrownBy(() -> Samplers.forName(null)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("sampler name must be non-null, found null");
        }
    }

    @Nested
    class ForNameWithClassLoader {
        @Test
        void findsBuiltInsThroughAnyLoaderThatSeesTheCore() {
            assertThat(Samplers.forName("heun", withoutTestProvider())).isInstanceOf(FlowMatchHeunSampler.class);
        }

        @Test
        void doesNotSeeAProviderTheLoaderCannotSee() {
            assertThatThrownBy(() -> Samplers.forName("test_only", withoutTestProvider()))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("sampler must be one of [dpmpp_2m, euler, euler_stochastic, heun], found 'test_only'"
                            + HINT);
        }

        @Test
        void theOneArgumentFormUsesTheContextClassLoader() {
            Thread thread = Thread.currentThread();
            ClassLoader saved = thread.getContextClassLoader();
            thread.setContextClassLoader(withoutTestProvider());
            try {
                assertThatThrownBy(() -> Samplers.forName("test_only")).isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining("[dpmpp_2m, euler, euler_stochastic, heun]");
                assertThat(Samplers.availableNames()).containsExactly("dpmpp_2m", "euler", "euler_stochastic",
                        "heun");
            } finally {
                thread.setContextClassLoader(saved);
            }
        }

        @Test
        void brokenPluginIsReportedAsSd3Exception(@TempDir Path dir) throws IOException {
            ClassLoader loader = withExtraServices(dir, "# a plug-in jar whose class is missing\n"
                    + "org.sd3j.sampler.NoSuchSampler\n");
            assertThatThrownBy(() -> Samplers.forName("euler", loader)).isInstanceOf(Sd3Exception.class)
                    .hasMessageStartingWith("A sampler plug-in could not be loaded: ")
                    .hasMessageContaining("org.sd3j.sampler.NoSuchSampler");
        }

        @Test
        void duplicateNameKeepsTheFirstProvider(@TempDir Path dir) throws IOException {
            // The built-ins' services file comes first in this loader's order; the shadow named "EULER" after.
            ClassLoader loader = withExtraServices(dir, ShadowEulerSampler.class.getName() + "\n");
            assertThat(Samplers.forName("euler", loader)).isInstanceOf(FlowMatchEulerSampler.class);
            assertThat(Samplers.available(loader).keySet()).containsExactly("dpmpp_2m", "euler", "euler_stochastic",
                    "heun", "test_only");
        }
    }

    @Nested
    class Available {
        @Test
        void listsEveryProviderSortedByLowerCaseName() {
            assertThat(Samplers.available(SamplersTest.class.getClassLoader()).keySet())
                    .containsExactly("dpmpp_2m", "euler", "euler_stochastic", "heun", "test_only");
        }

        @Test
        void availableNamesUsesTheContextLoader() {
            assertThat(Samplers.availableNames()).containsExactly("dpmpp_2m", "euler", "euler_stochastic", "heun",
                    "test_only");
        }

        @Test
        void mapsNamesToTheirSamplers() {
            Samplers.available(SamplersTest.class.getClassLoader())
                    .forEach((name, sampler) -> assertThat(sampler.name().toLowerCase(java.util.Locale.ROOT))
                            .isEqualTo(name));
        }
    }

    @Test
    void defaultSamplerIsEuler() {
        assertThat(Samplers.defaultSampler()).isInstanceOf(FlowMatchEulerSampler.class);
        assertThat(Samplers.defaultSampler().name()).isEqualTo("euler");
    }
}
