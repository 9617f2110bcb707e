/**
 * A deterministic captioned-shapes dataset for training and evaluating small text-to-image models.
 *
 * <p><b>Data.</b> {@link org.sd3j.examples.shapes.SceneGenerator} turns a seed into an endless sequence of
 * {@link org.sd3j.examples.shapes.Scene}s (coloured shapes on a plain background, or a word on a sign) with terse or
 * detailed captions; {@link org.sd3j.examples.shapes.SceneRenderer} draws them (same bytes on every platform);
 * {@link org.sd3j.examples.shapes.ShapeDatasetWriter} writes a training folder;
 * {@link org.sd3j.examples.shapes.CaptionVocabulary} lists every word a caption can contain, for tokenizers.
 */
package org.sd3j.examples.shapes;
