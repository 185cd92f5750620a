package org.transcnn;

import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.lossfunctions.ILossFunction;

/**
 * Test loss L = sum(activation(preOutput) * labels): its gradient with respect to the output is the label array,
 * which reproduces the reference gradients' {@code sum(logits * grad_seed)}.
 */
public class LinearLoss implements ILossFunction {

    @Override
    public double computeScore(INDArray labels, INDArray preOutput, IActivation fn, INDArray mask, boolean average) {
        double s = computeScoreArray(labels, preOutput, fn, mask).sumNumber().doubleValue();
        return average ? s / labels.size(0) : s;
    }

    @Override
    public INDArray computeScoreArray(INDArray labels, INDArray preOutput, IActivation fn, INDArray mask) {
        return fn.getActivation(preOutput.dup(), true).mul(labels).sum(1);
    }

    @Override
    public INDArray computeGradient(INDArray labels, INDArray preOutput, IActivation fn, INDArray mask) {
        return fn.backprop(preOutput.dup(), labels.dup()).getFirst();
    }

    @Override
    public Pair<Double, INDArray> computeGradientAndScore(INDArray labels, INDArray preOutput, IActivation fn,
            INDArray mask, boolean average) {
        return new Pair<>(computeScore(labels, preOutput, fn, mask, average),
                computeGradient(labels, preOutput, fn, mask));
    }

    @Override
    public String name() {
        return "LinearLoss";
    }
}
