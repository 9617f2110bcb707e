package org.sd3j.examples.defaultmodel;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The English words the default model's tokenizers know as whole tokens: the kind of words image prompts are made
 * of (articles, prepositions, colours, shapes, animals, scenery, materials, styles). Everything else still
 * tokenizes, into smaller pieces. Lowercase ASCII letters only; the order is fixed because it decides token ids.
 */
final class Words {
    private static final String TEXT = """
            a an the of in on at with and or to from by for into over under near behind above below beside between
            through across around inside outside top bottom left right front back center middle up down out off
            is are was be it its this that these those some many few one two three four five six seven eight nine
            ten very more most less no not all each every other another same new old

            red orange yellow green blue purple violet pink brown black white gray grey gold golden silver cyan
            magenta teal navy beige cream ivory crimson scarlet maroon turquoise azure amber lime olive indigo
            colorful colourful pastel neon dark light bright pale deep vivid muted rainbow

            circle circles square squares triangle triangles rectangle oval star stars heart cube sphere cone
            cylinder pyramid line lines dot dots stripe stripes spiral wave waves grid pattern shape shapes ring
            disk ball box round flat curved straight

            cat cats dog dogs fox foxes bird birds fish horse cow pig sheep goat rabbit mouse lion tiger bear wolf
            deer elephant giraffe zebra monkey owl eagle duck swan frog snake turtle whale dolphin shark octopus
            butterfly bee spider crab penguin panda koala squirrel dragon unicorn robot animal puppy kitten

            tree trees forest flower flowers rose grass leaf leaves mountain mountains hill river lake sea ocean
            beach island desert field garden park sky cloud clouds sun moon star sunset sunrise rain snow ice fire
            water stone rock sand wood earth night day morning evening winter summer spring autumn fall storm
            fog mist wind light shadow space planet galaxy valley waterfall cave

            house home castle tower bridge city town street road village building room window door wall floor
            table chair bed lamp car boat ship train plane bicycle clock book cup bottle bowl vase candle mirror
            hat shoe shirt dress coat glass metal paper cloth apple banana cake bread fruit food pizza coffee tea

            man woman boy girl child children person people face eyes hair hand hands king queen knight wizard
            girl family friend portrait

            big small large tiny huge little tall short long wide thin thick soft hard smooth rough shiny glossy
            matte wet dry hot cold warm cool happy sad calm quiet loud beautiful pretty cute ugly strange simple
            detailed sharp blurry clear abstract realistic minimal modern ancient vintage retro futuristic
            magical mysterious peaceful sleeping running flying swimming sitting standing walking jumping

            photo photograph picture image painting drawing sketch illustration art artwork style render poster
            watercolor oil canvas pencil ink cartoon anime pixel digital cinematic studio macro closeup view scene
            background foreground texture lighting quality high low resolution
            """;

    private Words() {
    }

    /** The words, first occurrence order, duplicates removed. */
    static List<String> all() {
        Set<String> words = new LinkedHashSet<>();
        for (String w : TEXT.strip().split("\\s+")) {
            words.add(w);
        }
        return new ArrayList<>(words);
    }
}
