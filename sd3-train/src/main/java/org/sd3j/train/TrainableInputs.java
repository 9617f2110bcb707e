package org.sd3j.train;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.sd3j.tensor.Tensor;
import org.sd3j.train.step.GradientOutputs;

/**
 * The step graph's trainable inputs (LoRA matrices, or every weight of a full-parameter run) and where their values
 * live: what a micro-step feeds after the graph's data inputs, and the gradient outputs it binds once per batch
 * shape. Holds the caller's tensors, not copies; not thread-safe, like the steps that use it.
 */
final class TrainableInputs {
    private final Map<String, Tensor> parameters;
    private final List<String> names;
    private final Map<String, String> parameterOf;

    /**
     * @param parameters  the trained tensors by parameter name
     * @param names       the step graph's inputs fed from them, in the order of its gradient outputs
     * @param parameterOf step-graph input name -> parameter name
     */
    TrainableInputs(Map<String, Tensor> parameters, List<String> names, Map<String, String> parameterOf) {
        this.parameters = parameters;
        this.names = List.copyOf(names);
        this.parameterOf = parameterOf;
    }

    /** Inputs named as the parameters they are fed from (every weight of an autoencoder step). */
    static TrainableInputs sameNames(Map<String, Tensor> parameters, List<String> names) {
        Map<String, String> identity = new LinkedHashMap<>();
        for (String n : names) {
            identity.put(n, n);
        }
        return new TrainableInputs(parameters, names, identity);
    }

    /** The step graph's input names, in order. */
    List<String> names() {
        return names;
    }

    int size() {
        return names.size();
    }

    /** Puts the current value of every trainable input into {@code inputs}, from index {@code from} on. */
    void feed(Tensor[] inputs, int from) {
        for (int i = 0; i < names.size(); i++) {
            inputs[from + i] = parameters.get(parameterOf.get(names.get(i)));
        }
    }

    /**
     * Allocates one gradient buffer per trainable input, shaped as its parameter, into {@code outputs} from index
     * {@code from} on, and adds the matching graph output names ({@code prefix} + input name) to
     * {@code outputNames}.
     *
     * @return parameter name -> its gradient buffer, in input order
     */
    Map<String, Tensor> gradientOutputs(Tensor[] outputs, int from, List<String> outputNames, String prefix) {
        Map<String, Tensor> gradients = new LinkedHashMap<>();
        for (int i = 0; i < names.size(); i++) {
            String p = parameterOf.get(names.get(i));
            Tensor g = Tensor.zeros(parameters.get(p).shape());
            gradients.put(p, g);
            outputs[from + i] = g;
            outputNames.add(prefix + names.get(i));
        }
        return gradients;
    }

    /**
     * Allocates the buffer of the step graph's sum of squares of all gradients (a scalar, the squared global norm)
     * into {@code outputs[index]} and adds its output name to {@code outputNames}.
     */
    static Tensor sumOfSquaresOutput(Tensor[] outputs, int index, List<String> outputNames) {
        Tensor sum = Tensor.zeros();
        outputs[index] = sum;
        outputNames.add(GradientOutputs.SUM_OF_SQUARES);
        return sum;
    }
}
