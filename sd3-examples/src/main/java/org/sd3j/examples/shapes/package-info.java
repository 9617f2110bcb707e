/**
 * A deterministic captioned-shapes dataset for training and evaluating small text-to-image models, and an evaluator
 * that reads the attributes back from generated images.
 *
 * <p><b>Data.</b> {@link org.sd3j.examples.shapes.SceneGenerator} turns a seed into an endless sequence of
 * {@link org.sd3j.examples.shapes.Scene}s (coloured shapes on a plain background, or a word on a sign) with terse or
 * detailed captions; {@link org.sd3j.examples.shapes.SceneRenderer} draws them (same bytes on every platform);
 * {@link org.sd3j.examples.shapes.ShapeDatasetWriter} writes a training folder;
 * {@link org.sd3j.examples.shapes.CaptionVocabulary} lists every word a caption can contain, for tokenizers.
 *
 * <p><b>Evaluation.</b> {@link org.sd3j.examples.shapes.AttributeReader} reads background, colour, count, shape, size,
 * position and word from an image; {@link org.sd3j.examples.shapes.SceneEvaluator} compares them with the attributes
 * a caption states (prompt adherence) and {@link org.sd3j.examples.shapes.AdherenceTally} sums up many;
 * {@link org.sd3j.examples.shapes.FrechetDistance} over {@link org.sd3j.examples.shapes.ImageFeatures} compares two
 * image sets as distributions.
 */
package org.sd3j.examples.shapes;
