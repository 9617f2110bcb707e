package org.sd3j.onnx.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.Proxy;
import java.net.ProxySelector;
import java.net.SocketAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Proves tokenizers load and run without any connection attempt: every {@code Socket} and
 * {@code URLConnection} consults the default {@link ProxySelector} before connecting, so one that records
 * and refuses every request catches an attempt from any thread (DJL's telemetry runs on its own thread).
 */
class NoNetworkTest {
    private final List<URI> attempts = new CopyOnWriteArrayList<>();
    private ProxySelector previous;

    @BeforeEach
    void install() {
        previous = ProxySelector.getDefault();
        ProxySelector.setDefault(new ProxySelector() {
            @Override
            public List<Proxy> select(URI uri) {
                attempts.add(uri);
                throw new IllegalStateException("network access attempted: " + uri);
            }

            @Override
            public void connectFailed(URI uri, SocketAddress sa, IOException ioe) {
                attempts.add(uri);
            }
        });
    }

    @AfterEach
    void restore() {
        ProxySelector.setDefault(previous);
    }

    @Test
    void tokenizersLoadAndRunOffline(@TempDir Path tmp) throws IOException, URISyntaxException, InterruptedException {
        Path t5Folder = Path.of(getClass().getResource("/tokenizer/t5/tokenizer.json").toURI()).getParent();
        try (ClipTokenizer clip = ClipTokenizer.load(SyntheticClipVocab.write(tmp.resolve("tokenizer"), "!", true));
             T5Tokenizer t5 = T5Tokenizer.load(t5Folder)) {
            assertThat(clip.ids("hello world")).hasSize(77);
            assertThat(clip.chunks("cat ".repeat(100))).hasNumberOfRows(2);
            assertThat(t5.ids("a photo of the cat")).hasSize(256);
        }
        Thread.sleep(200); // give a background telemetry thread, if any, the chance to show itself
        assertThat(attempts).isEmpty();
        assertThat(System.getProperty("ai.djl.offline") != null || System.getenv("DJL_OFFLINE") != null).isTrue();
        assertThat(System.getProperty("OPT_OUT_TRACKING") != null || System.getenv("OPT_OUT_TRACKING") != null).isTrue();
    }
}
