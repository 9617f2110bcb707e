package org.sd3j.onnx.safetensors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sd3j.ModelLoadException;

/** Sharded checkpoints with an index, and {@link Safetensors#open(Path)}'s choice of what to open. */
class ShardedSafetensorsTest {
    @TempDir
    Path dir;

    private Path shard1;
    private Path shard2;

    @BeforeEach
    void shards() {
        shard1 = dir.resolve("model-00001-of-00002.safetensors");
        shard2 = dir.resolve("model-00002-of-00002.safetensors");
        SafetensorsWriter.create().metadata("format", "pt").metadata("shard", "1")
                .add("a", new float[] {1f, 2f}, 2).add("b", new float[] {3f}, 1).write(shard1);
        SafetensorsWriter.create().metadata("format", "pt").metadata("shard", "2").metadata("only2", "x")
                .add("c", new float[] {4f, 5f, 6f}, 3).write(shard2);
    }

    private Path index(String json) throws Exception {
        Path index = dir.resolve("model.safetensors.index.json");
        Files.writeString(index, json);
        return index;
    }

    private static String weightMap(String entries) {
        return "{\"metadata\":{\"total_size\":24,\"note\":\"n\"},\"weight_map\":{" + entries + "}}";
    }

    private static final String GOOD = "\"a\":\"model-00001-of-00002.safetensors\","
            + "\"b\":\"model-00001-of-00002.safetensors\",\"c\":\"model-00002-of-00002.safetensors\"";

    @Test
    void readsTensorsAcrossShards() throws Exception {
        Path index = index(weightMap(GOOD));
        try (ShardedSafetensors s = ShardedSafetensors.open(index)) {
            assertThat(s.names()).containsExactly("a", "b", "c");
            assertThat(s.toFloatTensor("a").toArray()).containsExactly(1f, 2f);
            assertThat(s.toFloatTensor("c").toArray()).containsExactly(4f, 5f, 6f);
            assertThat(s.bytes("b").getFloat(0)).isEqualTo(3f);
            assertThat(s.forInference("c").data().remaining()).isEqualTo(12);
            assertThat(s.info("c").shape()).containsExactly(3);
            assertThat(s.pathOf("a")).isEqualTo(shard1.toAbsolutePath());
            assertThat(s.pathOf("c")).isEqualTo(shard2.toAbsolutePath());
            assertThat(s.shardPaths()).containsExactly(shard1.toAbsolutePath(), shard2.toAbsolutePath());
            assertThat(s.find("zz")).isEmpty();
            assertThatThrownBy(() -> s.info("zz")).isInstanceOf(ModelLoadException.class)
                    .hasMessage(index + ": missing tensor 'zz'");
        }
    }

    @Test
    void metadataMergesShardsUnderTheIndex() throws Exception {
        try (ShardedSafetensors s = ShardedSafetensors.open(index(weightMap(GOOD)))) {
            assertThat(s.metadata()).containsExactly(Map.entry("format", "pt"), Map.entry("shard", "1"),
                    Map.entry("only2", "x"), Map.entry("total_size", "24"), Map.entry("note", "n"));
        }
    }

    @Test
    void closeClosesEveryShardAndIsIdempotent() throws Exception {
        Path index = index(weightMap(GOOD));
        ShardedSafetensors s = ShardedSafetensors.open(index);
        s.close();
        s.close();
        assertThatThrownBy(() -> s.bytes("a")).isInstanceOf(IllegalStateException.class)
                .hasMessage(index + " is closed");
    }

    @Nested
    class Errors {
        @Test
        void tensorNotInItsShard() throws Exception {
            Path index = index(weightMap("\"a\":\"model-00002-of-00002.safetensors\","
                    + "\"c\":\"model-00002-of-00002.safetensors\""));
            assertThatThrownBy(() -> ShardedSafetensors.open(index)).isInstanceOf(ModelLoadException.class)
                    .hasMessage(index + ": weight_map puts tensor 'a' in shard 'model-00002-of-00002.safetensors',"
                            + " but that shard has no such tensor");
        }

        @Test
        void tensorInAnotherShardThanListed() throws Exception {
            Path index = index(weightMap("\"a\":\"model-00001-of-00002.safetensors\","
                    + "\"c\":\"model-00001-of-00002.safetensors\",\"b\":\"model-00002-of-00002.safetensors\""));
            assertThatThrownBy(() -> ShardedSafetensors.open(index)).isInstanceOf(ModelLoadException.class)
                    .hasMessageStartingWith(index + ": weight_map puts tensor 'c' in shard "
                            + "'model-00001-of-00002.safetensors', but that shard has no such tensor (it is in shard"
                            + " 'model-00002-of-00002.safetensors')");
        }

        @Test
        void duplicateAcrossShards() throws Exception {
            SafetensorsWriter.create().add("c", new float[] {9f}, 1).add("a", new float[] {0f}, 1).write(shard2);
            Path index = index(weightMap(GOOD));
            assertThatThrownBy(() -> ShardedSafetensors.open(index)).isInstanceOf(ModelLoadException.class)
                    .hasMessage(index + ": tensor 'a' is in two shards, 'model-00001-of-00002.safetensors' and"
                            + " 'model-00002-of-00002.safetensors' (names must be unique across shards)");
        }

        @Test
        void missingShard() throws Exception {
            Path index = index(weightMap(GOOD + ",\"d\":\"model-00003.safetensors\""));
            assertThatThrownBy(() -> ShardedSafetensors.open(index)).isInstanceOf(ModelLoadException.class)
                    .hasMessage(index + ": shard 'model-00003.safetensors' (listed for 'd'): "
                            + dir.toAbsolutePath().resolve("model-00003.safetensors") + ": no such file");
        }

        @Test
        void invalidShard() throws Exception {
            Files.write(shard2, new byte[] {1, 2});
            Path index = index(weightMap(GOOD));
            assertThatThrownBy(() -> ShardedSafetensors.open(index)).isInstanceOf(ModelLoadException.class)
                    .hasMessageStartingWith(index + ": shard 'model-00002-of-00002.safetensors' (listed for 'c'): ")
                    .hasMessageContaining("file holds 2 bytes");
        }

        @Test
        void shardOutsideTheFolder() throws Exception {
            Path index = index(weightMap("\"a\":\"../model-00001-of-00002.safetensors\""));
            assertThatThrownBy(() -> ShardedSafetensors.open(index)).isInstanceOf(ModelLoadException.class)
                    .hasMessage(index + ": weight_map entry for tensor 'a' must name a file inside "
                            + dir.toAbsolutePath() + ", found '../model-00001-of-00002.safetensors'");
            Path abs = index(weightMap("\"a\":\"" + shard1.toAbsolutePath() + "\""));
            assertThatThrownBy(() -> ShardedSafetensors.open(abs)).isInstanceOf(ModelLoadException.class)
                    .hasMessageContaining("must name a file inside");
        }

        @Test
        void malformedIndexes() throws Exception {
            Path i1 = index("{\"metadata\":{}}");
            assertThatThrownBy(() -> ShardedSafetensors.open(i1)).hasMessage(i1 + ": index must hold \"weight_map\": an"
                    + " object from tensor names to shard file names, found no such key");
            Path i2 = index("{\"weight_map\":{\"a\":1}}");
            assertThatThrownBy(() -> ShardedSafetensors.open(i2))
                    .hasMessage(i2 + ": weight_map entry for tensor 'a' must be a shard file name, found 1");
            Path i3 = index("{\"weight_map\":{\"a\":\"x\",\"a\":\"y\"}}");
            assertThatThrownBy(() -> ShardedSafetensors.open(i3)).hasMessage(i3 + ": weight_map lists tensor 'a' twice");
            Path i4 = index("{\"weight_map\":");
            assertThatThrownBy(() -> ShardedSafetensors.open(i4)).isInstanceOf(ModelLoadException.class)
                    .hasMessageStartingWith(i4 + ": index is not valid JSON");
            Path i5 = index("[]");
            assertThatThrownBy(() -> ShardedSafetensors.open(i5))
                    .hasMessage(i5 + ": index must be a JSON object with \"weight_map\", found an array");
            assertThatThrownBy(() -> ShardedSafetensors.open(dir.resolve("none.json")))
                    .isInstanceOf(ModelLoadException.class).hasMessage(dir.resolve("none.json") + ": no such file");
        }

        @Test
        void emptyWeightMapIsAnEmptyCheckpoint() throws Exception {
            try (ShardedSafetensors s = ShardedSafetensors.open(index("{\"weight_map\":{}}"))) {
                assertThat(s.names()).isEmpty();
            }
        }
    }

    @Nested
    class OpenAnything {
        @Test
        void folderPrefersTheIndex() throws Exception {
            index(weightMap(GOOD));
            try (TensorSource s = Safetensors.open(dir)) {
                assertThat(s).isInstanceOf(ShardedSafetensors.class);
                assertThat(s.names()).containsExactly("a", "b", "c");
            }
        }

        @Test
        void folderWithOneFile() throws Exception {
            Path sub = Files.createDirectory(dir.resolve("transformer"));
            Path f = sub.resolve("diffusion_pytorch_model.safetensors");
            SafetensorsWriter.create().add("w", new float[] {1f}, 1).write(f);
            Files.writeString(sub.resolve("config.json"), "{}");
            try (TensorSource s = Safetensors.open(sub)) {
                assertThat(s).isInstanceOf(SafetensorsFile.class);
                assertThat(s.pathOf("w")).isEqualTo(f);
            }
        }

        @Test
        void ambiguousOrEmptyFolders() throws Exception {
            assertThatThrownBy(() -> Safetensors.open(dir)).isInstanceOf(ModelLoadException.class)
                    .hasMessage(dir + ": holds several .safetensors files [model-00001-of-00002.safetensors,"
                            + " model-00002-of-00002.safetensors] and no index; expected one: pass the file to use");
            Path empty = Files.createDirectory(dir.resolve("empty"));
            assertThatThrownBy(() -> Safetensors.open(empty)).isInstanceOf(ModelLoadException.class)
                    .hasMessage(empty + ": holds no *.safetensors file and no *.safetensors.index.json;"
                            + " expected exactly one of them");
            index(weightMap(GOOD));
            Files.writeString(dir.resolve("other.safetensors.index.json"), "{}");
            assertThatThrownBy(() -> Safetensors.open(dir)).isInstanceOf(ModelLoadException.class)
                    .hasMessage(dir + ": holds several safetensors indexes [model.safetensors.index.json,"
                            + " other.safetensors.index.json]; expected one: pass the one to use");
        }

        @Test
        void filesByName() throws Exception {
            Path index = index(weightMap(GOOD));
            try (TensorSource s = Safetensors.open(index)) {
                assertThat(s).isInstanceOf(ShardedSafetensors.class);
            }
            try (TensorSource s = Safetensors.open(shard1)) {
                assertThat(s).isInstanceOf(SafetensorsFile.class);
            }
            assertThatThrownBy(() -> Safetensors.open(dir.resolve("missing")))
                    .isInstanceOf(ModelLoadException.class)
                    .hasMessage(dir.resolve("missing") + ": no such file or directory");
            assertThatThrownBy(() -> Safetensors.open(null)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("path must be non-null, found null");
        }
    }
}
