package org.transcnn.layers;

import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.activations.BaseActivationFunction;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Erf;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * Exact GELU, {@code x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2))}, as PyTorch's {@code nn.GELU()}, with the exact
 * derivative {@code Phi(x) + x phi(x)}. (DL4J's Activation.GELU is the sigmoid approximation, and the derivative of
 * its precise variant is itself approximate.)
 */
public class ExactGELU extends BaseActivationFunction {

    private static final double INV_SQRT2 = 1.0 / Math.sqrt(2.0);
    private static final double INV_SQRT_2PI = 1.0 / Math.sqrt(2.0 * Math.PI);

    @Override
    public INDArray getActivation(INDArray in, boolean training) {
        INDArray cdf = cdf(in);
        return in.muli(cdf);
    }

    @Override
    public Pair<INDArray, INDArray> backprop(INDArray in, INDArray epsilon) {
        assertShape(in, epsilon);
        INDArray pdf = Transforms.exp(in.mul(in).muli(-0.5), false).muli(INV_SQRT_2PI);
        INDArray grad = cdf(in).addi(pdf.muli(in));
        in.assign(grad.muli(epsilon));
        return new Pair<>(in, null);
    }

    private static INDArray cdf(INDArray x) {
        INDArray scaled = x.mul(INV_SQRT2);
        Nd4j.getExecutioner().exec(new Erf(scaled, scaled));
        return scaled.addi(1.0).muli(0.5);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ExactGELU;
    }

    @Override
    public int hashCode() {
        return ExactGELU.class.hashCode();
    }

    @Override
    public String toString() {
        return "gelu-exact";
    }
}
