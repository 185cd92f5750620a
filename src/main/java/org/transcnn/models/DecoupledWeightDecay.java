package org.transcnn.models;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.regularization.Regularization;
import org.nd4j.linalg.learning.regularization.WeightDecay;
import org.nd4j.linalg.schedule.FixedSchedule;
import org.nd4j.linalg.schedule.ISchedule;
import org.nd4j.shade.jackson.annotation.JsonProperty;

/**
 * Decoupled weight decay (AdamW's): after the updater, {@code update += lr * coeff * param}, exactly as DL4J's
 * {@link WeightDecay} with {@code applyLR = true}. Unlike it, the decay is not reported as part of the loss
 * ({@link #score} is 0), as in PyTorch's AdamW: DL4J would otherwise compute the squared norm of every weight on
 * every iteration only to add it to the reported score, which took about a seventh of the training time of the
 * small Fashion-MNIST network.
 */
public class DecoupledWeightDecay extends WeightDecay {

    public DecoupledWeightDecay(double coeff) {
        this(new FixedSchedule(coeff));
    }

    public DecoupledWeightDecay(@JsonProperty("coeff") ISchedule coeff) {
        super(coeff, true);
    }

    @Override
    public double score(INDArray param, int iteration, int epoch) {
        return 0.0;
    }

    @Override
    public Regularization clone() {
        return new DecoupledWeightDecay(coeff.clone());
    }
}
