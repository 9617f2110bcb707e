package org.sd3j.onnx.lora;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import org.sd3j.onnx.safetensors.SafetensorsWriter;
import org.sd3j.tensor.Tensor;

/**
 * Random LoRA adapters and their files in every key layout, written here from SPEC §5 and §7 (independently of the
 * readers): MMDiT adapters by original module name (fused qkv), CLIP adapters by transformers name.
 */
public final class LoraFixtures {
    /** One adapter: module (original MMDiT or transformers CLIP name), A [r, in], B [out, r], alpha. */
    public record Adapter(String module, Tensor a, Tensor b, double alpha) {
    }

    private LoraFixtures() {
    }

    /** Adapters of rank {@code rank} on {@code modules} ({@code <module>.weight} shapes from {@code shapes}). */
    public static List<Adapter> random(Map<String, long[]> shapes, List<String> modules, int rank, double alpha,
                                       double bScale, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        List<Adapter> out = new ArrayList<>();
        for (String m : modules) {
            long[] s = shapes.get(m + ".weight");
            out.add(new Adapter(m, gaussian(r, 1.0 / Math.sqrt(s[1]), rank, (int) s[1]),
                    gaussian(r, bScale, (int) s[0], rank), alpha));
        }
        return out;
    }

    static Tensor gaussian(SplittableRandom r, double std, int... shape) {
        Tensor t = Tensor.zeros(shape);
        for (int i = 0; i < t.size(); i++) {
            t.set(i, (float) (r.nextGaussian() * std));
        }
        return t;
    }

    /** Writes MMDiT adapters in {@code style}. */
    public static Path writeMmdit(Path file, List<Adapter> adapters, LoraKeyStyle style) {
        SafetensorsWriter w = SafetensorsWriter.create().metadata("format", "pt");
        for (Adapter a : adapters) {
            switch (style) {
                case DIFFUSERS -> {
                    List<String> names = MmditModules.toDiffusers(a.module());
                    if (names.size() == 3) {
                        int d = a.b().dim(0) / 3;
                        for (int p = 0; p < 3; p++) {
                            add(w, "transformer." + names.get(p), a.a(), a.b().slice(p * d, (p + 1) * d), null,
                                    false);
                        }
                    } else {
                        boolean swap = MmditModules.scaleShiftSwapped(a.module(), a.b().dim(0), a.a().dim(1));
                        Tensor b = swap ? Tensor.concat(0, a.b().slice(a.b().dim(0) / 2, a.b().dim(0)),
                                a.b().slice(0, a.b().dim(0) / 2)) : a.b();
                        add(w, "transformer." + names.get(0), a.a(), b, null, false);
                    }
                }
                case KOHYA -> add(w, "lora_unet_" + a.module().replace('.', '_'), a.a(), a.b(), a.alpha(), true);
                case COMFYUI -> add(w, "diffusion_model." + a.module(), a.a(), a.b(), a.alpha(), true);
                default -> add(w, "model.diffusion_model." + a.module(), a.a(), a.b(), a.alpha(), false);
            }
        }
        if (style == LoraKeyStyle.DIFFUSERS) {
            w.metadata(LoraFileReader.ADAPTER_METADATA, "{\"transformer.lora_alpha\": " + adapters.get(0).alpha()
                    + ", \"transformer.r\": " + adapters.get(0).a().dim(0) + "}");
        }
        w.write(file);
        return file;
    }

    /** Writes CLIP adapters of one encoder in {@code style} (diffusers: alpha as per-module tensors). */
    public static Path writeClip(Path file, LoraComponent encoder, List<Adapter> adapters, LoraKeyStyle style) {
        SafetensorsWriter w = SafetensorsWriter.create();
        boolean l = encoder == LoraComponent.CLIP_L;
        for (Adapter a : adapters) {
            switch (style) {
                case KOHYA -> add(w, (l ? "lora_te1_" : "lora_te2_") + a.module().replace('.', '_'), a.a(), a.b(),
                        a.alpha(), true);
                case DIFFUSERS -> add(w, (l ? "text_encoder." : "text_encoder_2.") + a.module(), a.a(), a.b(),
                        a.alpha(), false);
                default -> add(w, "text_encoders." + (l ? "clip_l" : "clip_g") + ".transformer." + a.module(), a.a(),
                        a.b(), a.alpha(), style == LoraKeyStyle.COMFYUI);
            }
        }
        w.write(file);
        return file;
    }

    /** Writes tensors of several parts into one file (e.g. MMDiT and CLIP adapters in kohya's layout). */
    public static Path merge(Path file, Path... parts) {
        SafetensorsWriter w = SafetensorsWriter.create();
        for (Path p : parts) {
            try (var s = org.sd3j.onnx.safetensors.Safetensors.open(p)) {
                for (String n : s.names()) {
                    w.add(n, s.toFloatTensor(n));
                }
            }
        }
        w.write(file);
        return file;
    }

    private static void add(SafetensorsWriter w, String module, Tensor a, Tensor b, Double alpha, boolean upDown) {
        w.add(module + (upDown ? ".lora_down.weight" : ".lora_A.weight"), a.copy());
        w.add(module + (upDown ? ".lora_up.weight" : ".lora_B.weight"), b.copy());
        if (alpha != null) {
            w.add(module + ".alpha", new float[] {alpha.floatValue()});
        }
    }
}
