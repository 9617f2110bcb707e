package org.sd3j.image;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.metadata.IIOInvalidTreeException;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.metadata.IIOMetadataNode;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.ImageOutputStream;

import org.sd3j.ModelLoadException;
import org.sd3j.internal.AtomicFiles;
import org.sd3j.internal.Checks;
import org.w3c.dom.Node;

/** PNG output with text chunks through the JDK's ImageIO PNG plug-in. */
final class PngWriter {
    private static final String FORMAT = "javax_imageio_png_1.0";

    private PngWriter() {
    }

    static void write(Image image, Path path, Map<String, String> text) {
        Checks.notNull(path, "path");
        Checks.notNull(text, "text");
        try {
            AtomicFiles.write(path, tmp -> {
                ImageWriter writer = ImageIO.getImageWritersByFormatName("png").next();
                try (ImageOutputStream out = ImageIO.createImageOutputStream(tmp.toFile())) {
                    writer.setOutput(out);
                    ImageWriteParam param = writer.getDefaultWriteParam();
                    java.awt.image.BufferedImage buffered = image.toBufferedImage();
                    IIOMetadata meta = writer.getDefaultImageMetadata(
                            ImageTypeSpecifier.createFromRenderedImage(buffered), param);
                    addText(meta, text);
                    writer.write(null, new IIOImage(buffered, null, meta), param);
                } finally {
                    writer.dispose();
                }
            });
        } catch (IOException e) {
            throw Image.ioFailure(path, "write PNG", e);
        }
    }

    private static void addText(IIOMetadata meta, Map<String, String> text) throws IIOInvalidTreeException {
        if (text.isEmpty()) {
            return;
        }
        IIOMetadataNode root = new IIOMetadataNode(FORMAT);
        IIOMetadataNode latin = new IIOMetadataNode("tEXt");
        IIOMetadataNode international = new IIOMetadataNode("iTXt");
        for (Map.Entry<String, String> e : text.entrySet()) {
            String key = Checks.notNull(e.getKey(), "text key");
            String value = Checks.notNull(e.getValue(), "text value for " + key);
            if (key.isEmpty() || key.length() > 79 || !StandardCharsets.ISO_8859_1.newEncoder().canEncode(key)) {
                throw Checks.fail("text key", "1-79 Latin-1 characters (PNG keyword)", "'" + key + "'");
            }
            if (StandardCharsets.ISO_8859_1.newEncoder().canEncode(value)) {
                IIOMetadataNode entry = new IIOMetadataNode("tEXtEntry");
                entry.setAttribute("keyword", key);
                entry.setAttribute("value", value);
                latin.appendChild(entry);
            } else {
                IIOMetadataNode entry = new IIOMetadataNode("iTXtEntry");
                entry.setAttribute("keyword", key);
                entry.setAttribute("compressionFlag", "FALSE");
                entry.setAttribute("compressionMethod", "0");
                entry.setAttribute("languageTag", "");
                entry.setAttribute("translatedKeyword", "");
                entry.setAttribute("text", value);
                international.appendChild(entry);
            }
        }
        if (latin.hasChildNodes()) {
            root.appendChild(latin);
        }
        if (international.hasChildNodes()) {
            root.appendChild(international);
        }
        meta.mergeTree(FORMAT, root);
    }

    static Map<String, String> readText(Path path) {
        Checks.notNull(path, "path");
        Map<String, String> out = new LinkedHashMap<>();
        try (ImageInputStream in = ImageIO.createImageInputStream(path.toFile())) {
            if (in == null) {
                throw new ModelLoadException(path, "cannot open file");
            }
            Iterator<ImageReader> readers = ImageIO.getImageReadersByFormatName("png");
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, false);
                IIOMetadata meta = reader.getImageMetadata(0);
                Node root = meta.getAsTree(FORMAT);
                for (Node n = root.getFirstChild(); n != null; n = n.getNextSibling()) {
                    String name = n.getNodeName();
                    if (name.equals("tEXt") || name.equals("zTXt") || name.equals("iTXt")) {
                        for (Node e = n.getFirstChild(); e != null; e = e.getNextSibling()) {
                            IIOMetadataNode entry = (IIOMetadataNode) e;
                            String value = name.equals("iTXt") ? entry.getAttribute("text")
                                    : name.equals("zTXt") ? entry.getAttribute("text") : entry.getAttribute("value");
                            out.put(entry.getAttribute("keyword"), value);
                        }
                    }
                }
            } finally {
                reader.dispose();
            }
        } catch (IOException e) {
            throw new ModelLoadException(path, "not a readable PNG: " + e.getMessage(), e);
        }
        return out;
    }
}
