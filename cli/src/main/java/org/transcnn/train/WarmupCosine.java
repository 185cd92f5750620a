package org.transcnn.train;

import org.nd4j.linalg.schedule.ISchedule;
import org.nd4j.shade.jackson.annotation.JsonProperty;

/**
 * Learning-rate schedule by iteration: linear warm-up from {@code base / warmup} to {@code base} over
 * {@code warmup} iterations, then cosine decay to {@code base * finalFraction} at iteration {@code total}.
 */
public class WarmupCosine implements ISchedule {

    private final double base;
    private final int warmup;
    private final int total;
    private final double finalFraction;

    public WarmupCosine(@JsonProperty("base") double base, @JsonProperty("warmup") int warmup,
            @JsonProperty("total") int total, @JsonProperty("finalFraction") double finalFraction) {
        if (!(base > 0) || warmup < 0 || total <= warmup || finalFraction < 0 || finalFraction > 1) {
            throw new IllegalArgumentException("need base > 0, 0 <= warmup < total, finalFraction in [0, 1]; got "
                    + base + ", " + warmup + ", " + total + ", " + finalFraction);
        }
        this.base = base;
        this.warmup = warmup;
        this.total = total;
        this.finalFraction = finalFraction;
    }

    @Override
    public double valueAt(int iteration, int epoch) {
        if (iteration < warmup) {
            return base * (iteration + 1) / warmup;
        }
        double t = Math.min(1.0, (double) (iteration - warmup) / (total - warmup));
        double low = base * finalFraction;
        return low + 0.5 * (base - low) * (1 + Math.cos(Math.PI * t));
    }

    @Override
    public ISchedule clone() {
        return new WarmupCosine(base, warmup, total, finalFraction);
    }

    public double getBase() {
        return base;
    }

    public int getWarmup() {
        return warmup;
    }

    public int getTotal() {
        return total;
    }

    public double getFinalFraction() {
        return finalFraction;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof WarmupCosine w && w.base == base && w.warmup == warmup && w.total == total
                && w.finalFraction == finalFraction;
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(base, warmup, total, finalFraction);
    }
}
