package org.transcnn.layers;

import org.deeplearning4j.nn.weights.IWeightInit;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.BooleanIndexing;
import org.nd4j.linalg.indexing.conditions.Conditions;

/**
 * Weight initialisation N(0, std^2) truncated to [lower, upper] (absolute bounds, values outside are redrawn), as
 * timm's {@code trunc_normal_(w, std=.02)} that the official TransCNN uses; the default bounds are [-2, 2].
 */
public class TruncatedNormalInit implements IWeightInit {

    private double std;
    private double lower;
    private double upper;

    public TruncatedNormalInit() {
        this(0.02);
    }

    public TruncatedNormalInit(double std) {
        this(std, -2.0, 2.0);
    }

    public TruncatedNormalInit(double std, double lower, double upper) {
        if (!(std > 0) || !(lower < 0) || !(upper > 0)) {
            throw new IllegalArgumentException("need std > 0 and lower < 0 < upper, got std " + std + ", bounds ["
                    + lower + ", " + upper + "]");
        }
        this.std = std;
        this.lower = lower;
        this.upper = upper;
    }

    @Override
    public INDArray init(double fanIn, double fanOut, long[] shape, char order, INDArray paramView) {
        Nd4j.randn(paramView).muli(std);
        for (int round = 0; round < 1000; round++) {
            INDArray outside = paramView.gt(upper).castTo(paramView.dataType())
                    .addi(paramView.lt(lower).castTo(paramView.dataType()));
            if (outside.sumNumber().doubleValue() == 0) {
                break;
            }
            INDArray redraw = Nd4j.randn(paramView.dataType(), paramView.shape()).muli(std);
            paramView.muli(outside.rsub(1.0)).addi(redraw.muli(outside));
        }
        BooleanIndexing.replaceWhere(paramView, upper, Conditions.greaterThan(upper));
        BooleanIndexing.replaceWhere(paramView, lower, Conditions.lessThan(lower));
        return paramView.reshape(order, shape);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TruncatedNormalInit && ((TruncatedNormalInit) o).std == std
                && ((TruncatedNormalInit) o).lower == lower && ((TruncatedNormalInit) o).upper == upper;
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(std, lower, upper);
    }
}
