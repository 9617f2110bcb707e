package org.sd3j.onnx.lora;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;

import org.sd3j.ModelLoadException;
import org.sd3j.onnx.graph.ElementType;
import org.sd3j.onnx.graph.WeightData;
import org.sd3j.onnx.safetensors.Half;

/**
 * The weights of an existing {@code model.onnx} (an optimum export, or what {@code sd3 convert} writes) as far as
 * LoRA merging needs them: each float initializer's name, type, shape and where its bytes are (embedded or in an
 * external data file), and the nodes that use them. The file is streamed once; no tensor data is read until a
 * merge needs it.
 *
 * <p>A LoRA module is matched to an initializer by name, whatever prefix the exporter put before it:
 * <ul>
 *   <li>the original checkpoint name ({@code joint_blocks.0.x_block.attn.qkv.weight}, fused rows; sd3j's converter
 *       names the q, k, v slices {@code ...qkv.weight#q}, {@code #k}, {@code #v});</li>
 *   <li>diffusers' name ({@code transformer_blocks.0.attn.to_q.weight}; 2-chunk adaLN rows in (scale, shift) order);
 *       CLIP's transformers name ({@code text_model.encoder.layers.0.self_attn.q_proj.weight});</li>
 *   <li>through its bias, for exporters that store a Linear as a MatMul by an anonymous transposed initializer
 *       ({@code onnx::MatMul_1234} [in, out]) and an Add of the named {@code <module>.bias}: torch's exporter.</li>
 * </ul>
 * Modules matched by none of these are reported as unmapped. Immutable.
 */
public final class OnnxModelWeights {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(OnnxModelWeights.class);
    // Field numbers of onnx.proto.
    private static final int MODEL_GRAPH = 7;
    private static final int GRAPH_NODE = 1;
    private static final int GRAPH_INITIALIZER = 5;
    private static final int TENSOR_DIMS = 1;
    private static final int TENSOR_DATA_TYPE = 2;
    private static final int TENSOR_NAME = 8;
    private static final int TENSOR_RAW_DATA = 9;
    private static final int TENSOR_EXTERNAL_DATA = 13;

    /** A float initializer and where its bytes are: in {@code file} at {@code offset}. */
    private record Initializer(String name, ElementType type, long[] dims, Path file, long offset, long length) {
    }

    private final Path modelFile;
    private final Map<String, Initializer> initializers;
    /** Every dot-separated suffix of every initializer name -> the names with that suffix. */
    private final Map<String, List<String>> bySuffix = new HashMap<>();
    /** The weight a bias is added to (by a Gemm, or an Add after a MatMul), and whether it is stored [in, out]. */
    private record BiasedWeight(String weight, boolean transposed) {
    }

    /** Bias initializer -> the weight of its Linear. */
    private final Map<String, BiasedWeight> biasToWeight = new HashMap<>();

    private OnnxModelWeights(Path modelFile, Map<String, Initializer> initializers, Set<String> names,
                             List<NodeProto> nodes) {
        this.modelFile = modelFile;
        this.initializers = initializers;
        for (String name : names) {
            int dot = -1;
            do {
                bySuffix.computeIfAbsent(name.substring(dot + 1), k -> new ArrayList<>()).add(name);
                dot = name.indexOf('.', dot + 1);
            } while (dot >= 0);
        }
        Map<String, NodeProto> producers = new HashMap<>();
        for (NodeProto n : nodes) {
            for (String out : n.getOutputList()) {
                producers.put(out, n);
            }
        }
        for (NodeProto n : nodes) {
            if (n.getOpType().equals("Gemm") && n.getInputCount() == 3 && initializers.containsKey(n.getInput(1))
                    && names.contains(n.getInput(2))) {
                long transB = 0;
                for (AttributeProto a : n.getAttributeList()) {
                    transB = a.getName().equals("transB") ? a.getI() : transB;
                }
                biasToWeight.put(n.getInput(2), new BiasedWeight(n.getInput(1), transB == 0));
            } else if (n.getOpType().equals("Add") && n.getInputCount() == 2) {
                for (int side = 0; side < 2; side++) {
                    NodeProto p = producers.get(n.getInput(1 - side));
                    if (names.contains(n.getInput(side)) && p != null && p.getOpType().equals("MatMul")
                            && p.getInputCount() == 2 && initializers.containsKey(p.getInput(1))) {
                        biasToWeight.put(n.getInput(side), new BiasedWeight(p.getInput(1), true));
                    }
                }
            }
        }
    }

    /**
     * What merging LoRAs into an ONNX file gives.
     *
     * @param initializers the merged initializers, to replace the file's (see
     *                     {@code GraphSession.load(Path, OnnxOptions, Map)})
     * @param merged       per LoRA file, how many adapters were merged and which modules could not be mapped
     */
    public record Merge(Map<String, WeightData> initializers, List<MergedLora> merged) {
    }

    /**
     * Merges the adapters {@code loras} hold for {@code component} into {@code modelFile}'s weights; a WARN lists the
     * modules whose weights could not be found. Reads nothing when {@code loras} is empty.
     *
     * @throws ModelLoadException for an unreadable model, or a LoRA file that cannot be read, has keys of no known
     *                            layout or does not fit the weights it maps to
     */
    public static Merge merge(Path modelFile, LoraComponent component, List<org.sd3j.lora.LoraRequest> loras) {
        if (loras.isEmpty()) {
            return new Merge(Map.of(), List.of());
        }
        OnnxModelWeights w = read(modelFile);
        LoraPlacement.Placed p = LoraPlacement.place(loras, component, null,
                component == LoraComponent.MMDIT ? w.mmdit() : w.clip());
        for (MergedLora m : p.merged()) {
            if (!m.unmapped().isEmpty()) {
                LOG.warn("LoRA {}: {} of its {} adapters for the {} have no weight in {} that their names map to and"
                        + " are not applied: {}. Convert the model with 'sd3 convert' (or load its checkpoint) to apply"
                        + " all of them", m.file(), m.unmapped().size(), m.applied() + m.unmapped().size(),
                        component.part(), modelFile, m.unmapped());
            }
        }
        return new Merge(w.merge(p.adapters()), p.merged());
    }

    /**
     * Reads the declarations of {@code modelFile}.
     *
     * @throws ModelLoadException naming the file when it is not a readable ONNX model
     */
    public static OnnxModelWeights read(Path modelFile) {
        Map<String, Initializer> initializers = new LinkedHashMap<>();
        Set<String> names = new HashSet<>();
        List<NodeProto> nodes = new ArrayList<>();
        try (InputStream stream = Files.newInputStream(modelFile)) {
            CodedInputStream in = CodedInputStream.newInstance(stream, 1 << 16);
            in.setSizeLimit(Integer.MAX_VALUE);
            for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
                if (WireFormat.getTagFieldNumber(tag) == MODEL_GRAPH && delimited(tag)) {
                    int limit = in.pushLimit(in.readRawVarint32());
                    for (int t = in.readTag(); t != 0; t = in.readTag()) {
                        int field = WireFormat.getTagFieldNumber(t);
                        if (field == GRAPH_NODE && delimited(t)) {
                            nodes.add(NodeProto.parseFrom(in.readBytes()));
                        } else if (field == GRAPH_INITIALIZER && delimited(t)) {
                            int l = in.pushLimit(in.readRawVarint32());
                            String[] name = new String[1];
                            Initializer i = initializer(in, modelFile, name);
                            names.add(name[0]);
                            if (i != null) {
                                initializers.put(i.name(), i);
                            }
                            in.popLimit(l);
                        } else {
                            in.skipField(t);
                        }
                    }
                    in.popLimit(limit);
                } else {
                    in.skipField(tag);
                }
            }
        } catch (IOException | RuntimeException e) {
            throw new ModelLoadException(modelFile, "cannot read the ONNX model's weights: " + e.getMessage(), e);
        }
        return new OnnxModelWeights(modelFile, initializers, names, nodes);
    }

    private static boolean delimited(int tag) {
        return WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED;
    }

    /**
     * A 2-D float32/float16/bfloat16 initializer with raw or external data; null for anything else. Its name goes to
     * {@code name[0]} either way.
     */
    private static Initializer initializer(CodedInputStream in, Path modelFile, String[] nameOut)
            throws IOException {
        String name = "";
        int type = 0;
        List<Long> dims = new ArrayList<>();
        long rawOffset = -1;
        long rawLength = 0;
        Map<String, String> external = new HashMap<>();
        for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
            int field = WireFormat.getTagFieldNumber(tag);
            if (field == TENSOR_DIMS && WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_VARINT) {
                dims.add(in.readInt64());
            } else if (field == TENSOR_DIMS && delimited(tag)) {
                int limit = in.pushLimit(in.readRawVarint32());
                while (in.getBytesUntilLimit() > 0) {
                    dims.add(in.readInt64());
                }
                in.popLimit(limit);
            } else if (field == TENSOR_DATA_TYPE && WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_VARINT) {
                type = in.readInt32();
            } else if (field == TENSOR_NAME && delimited(tag)) {
                name = in.readStringRequireUtf8();
            } else if (field == TENSOR_RAW_DATA && delimited(tag)) {
                rawLength = in.readRawVarint32() & 0xFFFFFFFFL;
                rawOffset = in.getTotalBytesRead();
                in.skipRawBytes((int) rawLength);
            } else if (field == TENSOR_EXTERNAL_DATA && delimited(tag)) {
                ai.onnx.proto.OnnxMl.StringStringEntryProto e =
                        ai.onnx.proto.OnnxMl.StringStringEntryProto.parseFrom(in.readBytes());
                external.put(e.getKey(), e.getValue());
            } else {
                in.skipField(tag);
            }
        }
        nameOut[0] = name;
        ElementType et = type == TensorProto.DataType.FLOAT_VALUE ? ElementType.FLOAT
                : type == TensorProto.DataType.FLOAT16_VALUE ? ElementType.FLOAT16
                : type == TensorProto.DataType.BFLOAT16_VALUE ? ElementType.BFLOAT16 : null;
        if (et == null || dims.size() != 2) {
            return null;
        }
        long[] shape = {dims.get(0), dims.get(1)};
        long bytes = shape[0] * shape[1] * et.byteSize();
        if (external.containsKey("location")) {
            long offset = Long.parseLong(external.getOrDefault("offset", "0"));
            long length = Long.parseLong(external.getOrDefault("length", Long.toString(bytes)));
            Path file = modelFile.toAbsolutePath().resolveSibling(external.get("location"));
            return length == bytes ? new Initializer(name, et, shape, file, offset, length) : null;
        }
        return rawOffset >= 0 && rawLength == bytes
                ? new Initializer(name, et, shape, modelFile, rawOffset, rawLength) : null;
    }

    /** Where this model stores the MMDiT's weights (see the class comment). */
    public LoraPlacement.Locator mmdit() {
        return m -> {
            List<String> diffusers = MmditModules.toDiffusers(m.module());
            if (m.isSlice()) {
                return qkvPart(m.module(), diffusers.get(m.part()), m.part(), 0).map(List::of).orElse(List.of());
            }
            if (diffusers.size() == 3) {
                Optional<StoredLinear> fused = byName(m.module() + ".weight", 0, 1, false)
                        .or(() -> byBias(m.module() + ".bias", 0, 1, false));
                if (fused.isPresent()) {
                    return List.of(fused.get());
                }
                // A fused adapter on weights stored as q, k and v: each takes its third of B's rows.
                List<StoredLinear> parts = new ArrayList<>();
                for (int p = 0; p < 3; p++) {
                    Optional<StoredLinear> s = qkvPart(m.module(), diffusers.get(p), p, p);
                    if (s.isEmpty()) {
                        return List.of();
                    }
                    parts.add(s.get());
                }
                return parts;
            }
            // diffusers stores the 2-chunk adaLN layers as (scale, shift): norm_out and the last block's context one.
            boolean swapped = MmditModules.scaleShiftSwapped(m.module(), 2, 1);
            Optional<StoredLinear> s = byName(m.module() + ".weight", 0, -1, false)
                    .or(() -> byBias(m.module() + ".bias", 0, -1, false))
                    .or(() -> byName(diffusers.get(0) + ".weight", 0, -1, swapped))
                    .or(() -> byBias(diffusers.get(0) + ".bias", 0, -1, swapped))
                    .map(x -> x.swapHalves() && x.outFeatures() != 2 * x.inFeatures() ? new StoredLinear(x.tensor(),
                            0, 0, x.rows(), x.outFeatures(), x.inFeatures(), x.transposed(), false) : x);
            return s.map(List::of).orElse(List.of());
        };
    }

    /**
     * Part {@code part} of a fused qkv: sd3j's {@code <module>.weight#q} slice, a third of a fused weight, or
     * diffusers' separate projection; {@code moduleRow} is where its rows start in the adapter's B.
     */
    private Optional<StoredLinear> qkvPart(String module, String diffusersName, int part, int moduleRow) {
        Optional<StoredLinear> s = byName(module + ".weight#" + "qkv".charAt(part), 0, -1, false)
                .or(() -> byName(module + ".weight", part, 3, false))
                .or(() -> byBias(module + ".bias", part, 3, false))
                .or(() -> byName(diffusersName + ".weight", 0, -1, false))
                .or(() -> byBias(diffusersName + ".bias", 0, -1, false));
        return s.map(x -> new StoredLinear(x.tensor(), (long) moduleRow * x.rows(), x.firstRow(), x.rows(),
                x.outFeatures(), x.inFeatures(), x.transposed(), false));
    }

    /** Where this model stores a CLIP encoder's weights (transformers names, any prefix). */
    public LoraPlacement.Locator clip() {
        return m -> byName(m.module() + ".weight", 0, -1, false).or(() -> byBias(m.module() + ".bias", 0, -1, false))
                .map(List::of).orElse(List.of());
    }

    /**
     * The initializer named {@code suffix} (after any prefix), unique; {@code parts} 3 for a fused qkv of which
     * {@code part} is wanted, 1 for all of a fused qkv, -1 for the whole of another weight.
     */
    private Optional<StoredLinear> byName(String suffix, int part, int parts, boolean swap) {
        List<String> names = bySuffix.getOrDefault(suffix, List.of());
        return names.size() == 1 && initializers.containsKey(names.get(0))
                ? stored(initializers.get(names.get(0)), false, part, parts, swap) : Optional.empty();
    }

    private Optional<StoredLinear> byBias(String suffix, int part, int parts, boolean swap) {
        List<String> names = bySuffix.getOrDefault(suffix, List.of());
        if (names.size() != 1 || !biasToWeight.containsKey(names.get(0))) {
            return Optional.empty();
        }
        BiasedWeight w = biasToWeight.get(names.get(0));
        return stored(initializers.get(w.weight()), w.transposed(), part, parts, swap);
    }

    private static Optional<StoredLinear> stored(Initializer i, boolean transposed, int part, int parts,
                                                 boolean swap) {
        if (i == null) {
            return Optional.empty();
        }
        long out = transposed ? i.dims()[1] : i.dims()[0];
        long in = transposed ? i.dims()[0] : i.dims()[1];
        if (parts > 0) {
            if (out % parts != 0) {
                return Optional.empty();
            }
            long rows = out / parts;
            return Optional.of(new StoredLinear(i.name(), 0, part * rows, rows, out, in, transposed, false));
        }
        return Optional.of(new StoredLinear(i.name(), 0, 0, out, out, in, transposed, swap));
    }

    /** An initializer's values as float32, in its stored layout. */
    float[] values(String name) {
        Initializer i = initializers.get(name);
        try (FileChannel ch = FileChannel.open(i.file(), StandardOpenOption.READ)) {
            ByteBuffer b = ch.map(FileChannel.MapMode.READ_ONLY, i.offset(), i.length())
                    .order(ByteOrder.LITTLE_ENDIAN);
            float[] v = new float[Math.toIntExact(i.dims()[0] * i.dims()[1])];
            for (int k = 0; k < v.length; k++) {
                v[k] = switch (i.type()) {
                    case FLOAT -> b.getFloat(k * 4);
                    case FLOAT16 -> Half.f16ToFloat(b.getShort(k * 2));
                    default -> Half.bf16ToFloat(b.getShort(k * 2));
                };
            }
            return v;
        } catch (IOException e) {
            throw new ModelLoadException(i.file(), "cannot read the weight '" + name + "' of " + modelFile + ": "
                    + e.getMessage(), e);
        }
    }

    /**
     * The merged initializers: {@code W + sum scale * B A} for each initializer the adapters touch, in its own element
     * type and shape, to hand to ONNX Runtime in place of the file's.
     */
    public Map<String, WeightData> merge(List<PlacedAdapter> adapters) {
        Map<String, WeightData> out = new LinkedHashMap<>();
        LoraMerge.merge(adapters, this::values).forEach((name, v) -> {
            Initializer i = initializers.get(name);
            org.sd3j.onnx.safetensors.DType d = switch (i.type()) {
                case FLOAT -> org.sd3j.onnx.safetensors.DType.F32;
                case FLOAT16 -> org.sd3j.onnx.safetensors.DType.F16;
                default -> org.sd3j.onnx.safetensors.DType.BF16;
            };
            out.put(name, new WeightData(i.type(), i.dims(), MergedTensorSource.encode(v, d)));
        });
        return out;
    }
}
