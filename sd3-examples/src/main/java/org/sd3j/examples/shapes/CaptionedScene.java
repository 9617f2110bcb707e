package org.sd3j.examples.shapes;

import java.util.Set;

import org.sd3j.internal.Checks;

/**
 * A scene with the caption style a dataset (or an evaluation prompt) uses for it. Immutable and thread-safe.
 *
 * @param scene the ground truth
 * @param style how it is put into words
 */
public record CaptionedScene(Scene scene, CaptionStyle style) {
    public CaptionedScene {
        Checks.notNull(scene, "scene");
        Checks.notNull(style, "style");
    }

    public String caption() {
        return scene.caption(style);
    }

    /** The attributes the caption states: what {@link SceneEvaluator} scores. */
    public Set<Attribute> mentioned() {
        return scene.mentioned(style);
    }
}
