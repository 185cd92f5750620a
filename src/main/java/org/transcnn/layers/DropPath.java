package org.transcnn.layers;

import org.deeplearning4j.nn.conf.dropout.IDropout;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.random.impl.DropOutInverted;
import org.nd4j.linalg.factory.Broadcast;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.shade.jackson.annotation.JsonIgnoreProperties;

/**
 * Drop path (stochastic depth) as a DL4J {@link IDropout}: in training, each sample of the batch is zeroed with
 * probability {@code rate} and otherwise scaled by {@code 1 / (1 - rate)}; at inference it is the identity (DL4J
 * applies an IDropout only in training). Works on activations of any rank [B, ...]. Use it on a
 * {@code DropoutLayer} in front of a residual addition.
 */
@JsonIgnoreProperties({"mask"})
public class DropPath implements IDropout {

    private double rate;
    private transient INDArray mask;

    public DropPath() {
        // for JSON deserialisation
    }

    /** @param rate drop probability per sample, in [0, 1) */
    public DropPath(double rate) {
        if (!(rate >= 0 && rate < 1)) {
            throw new IllegalArgumentException("drop path rate must be in [0, 1), got " + rate);
        }
        this.rate = rate;
    }

    @Override
    public INDArray applyDropout(INDArray input, INDArray output, int iteration, int epoch,
            LayerWorkspaceMgr workspaceMgr) {
        mask = workspaceMgr.createUninitialized(ArrayType.INPUT, output.dataType(), input.size(0)).assign(1.0);
        if (rate > 0) {
            Nd4j.getExecutioner().exec(new DropOutInverted(mask, 1.0 - rate));
        }
        return Broadcast.mul(input, mask, output, 0);
    }

    @Override
    public INDArray backprop(INDArray gradAtOutput, INDArray gradAtInput, int iteration, int epoch) {
        if (mask == null) {
            throw new IllegalStateException("DropPath.backprop called without a preceding training forward pass");
        }
        Broadcast.mul(gradAtOutput, mask, gradAtInput, 0);
        mask = null;
        return gradAtInput;
    }

    @Override
    public void clear() {
        mask = null;
    }

    @Override
    public DropPath clone() {
        return new DropPath(rate);
    }

    public double getRate() {
        return rate;
    }

    public void setRate(double rate) {
        this.rate = rate;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DropPath && ((DropPath) o).rate == rate;
    }

    @Override
    public int hashCode() {
        return Double.hashCode(rate);
    }
}
