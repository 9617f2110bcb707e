package org.sd3j.onnx.vae;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Random;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sd3j.model.LatentDistribution;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.onnx.safetensors.SafetensorsWriter;
import org.sd3j.tensor.Tensor;

/**
 * The real SD3 autoencoder geometry (ch 128, ch_mult 1,2,4,4, 2 res blocks, z 16; ~84M parameters) with random
 * weights: loads, infers the config, encodes and decodes at 256x256, and decodes a 1032x1032 latent in tiles.
 * Slow (writes a 335 MB checkpoint): excluded by default, run with {@code -Dgroups=slow}.
 */
@Tag("slow")
class FullSizeVaeTest {
    @TempDir
    Path dir;

    static void conv(SafetensorsWriter w, Random r, String name, int out, int in, int k) {
        float[] v = new float[out * in * k * k];
        float std = (float) Math.sqrt(1.0 / (in * k * k));
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextGaussian() * std;
        }
        w.add(name + ".weight", v, out, in, k, k);
        w.add(name + ".bias", new float[out], out);
    }

    static void norm(SafetensorsWriter w, String name, int c) {
        float[] ones = new float[c];
        java.util.Arrays.fill(ones, 1f);
        w.add(name + ".weight", ones, c);
        w.add(name + ".bias", new float[c], c);
    }

    static void resnet(SafetensorsWriter w, Random r, String name, int in, int out) {
        norm(w, name + ".norm1", in);
        conv(w, r, name + ".conv1", out, in, 3);
        norm(w, name + ".norm2", out);
        conv(w, r, name + ".conv2", out, out, 3);
        if (in != out) {
            conv(w, r, name + ".nin_shortcut", out, in, 1);
        }
    }

    static void mid(SafetensorsWriter w, Random r, String name, int c) {
        resnet(w, r, name + ".block_1", c, c);
        norm(w, name + ".attn_1.norm", c);
        for (String p : new String[] {"q", "k", "v", "proj_out"}) {
            conv(w, r, name + ".attn_1." + p, c, c, 1);
        }
        resnet(w, r, name + ".block_2", c, c);
    }

    static Path writeSd3Vae(Path file) {
        int[] ch = {128, 256, 512, 512};
        Random r = new Random(1);
        SafetensorsWriter w = SafetensorsWriter.create();
        String e = "first_stage_model.encoder";
        conv(w, r, e + ".conv_in", ch[0], 3, 3);
        int in = ch[0];
        for (int l = 0; l < 4; l++) {
            for (int b = 0; b < 2; b++) {
                resnet(w, r, e + ".down." + l + ".block." + b, in, ch[l]);
                in = ch[l];
            }
            if (l != 3) {
                conv(w, r, e + ".down." + l + ".downsample.conv", in, in, 3);
            }
        }
        mid(w, r, e + ".mid", in);
        norm(w, e + ".norm_out", in);
        conv(w, r, e + ".conv_out", 32, in, 3);
        String d = "first_stage_model.decoder";
        conv(w, r, d + ".conv_in", 512, 16, 3);
        mid(w, r, d + ".mid", 512);
        in = 512;
        for (int l = 3; l >= 0; l--) {
            for (int b = 0; b < 3; b++) {
                resnet(w, r, d + ".up." + l + ".block." + b, in, ch[l]);
                in = ch[l];
            }
            if (l != 0) {
                conv(w, r, d + ".up." + l + ".upsample.conv", in, in, 3);
            }
        }
        norm(w, d + ".norm_out", in);
        conv(w, r, d + ".conv_out", 3, in, 3);
        w.write(file);
        return file;
    }

    @Test
    void realGeometryEncodesAndDecodes() {
        Path file = writeSd3Vae(dir.resolve("sd3_vae.safetensors"));
        try (OnnxVae vae = OnnxVae.load(file, OnnxOptions.cpu())) {
            assertThat(vae.config().levelChannels()).containsExactly(128, 256, 512, 512);
            assertThat(vae.config().resBlocks()).isEqualTo(2);
            Tensor image = TiledDecoderTest.random(1, 3, 256, 256);
            long t0 = System.nanoTime();
            LatentDistribution d = vae.encode(image);
            long t1 = System.nanoTime();
            Tensor out = vae.decode(d.mean());
            long t2 = System.nanoTime();
            assertThat(d.mean().shape()).containsExactly(1, 16, 32, 32);
            assertThat(out.shape()).containsExactly(1, 3, 256, 256);
            assertThat(out.allFinite()).isTrue();
            Tensor tiled = vae.decodeTiled(d.mean(), 20, 8);
            long t3 = System.nanoTime();
            assertThat(tiled.shape()).containsExactly(1, 3, 256, 256);
            assertThat(tiled.allFinite()).isTrue();
            System.out.printf("full-size VAE 256x256: encode %d ms, decode %d ms, tiled decode (20/8) %d ms%n",
                    (t1 - t0) / 1_000_000, (t2 - t1) / 1_000_000, (t3 - t2) / 1_000_000);
        }
    }
}
