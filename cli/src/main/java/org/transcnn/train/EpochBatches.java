package org.transcnn.train;

import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.dataset.api.MultiDataSetPreProcessor;
import org.nd4j.linalg.dataset.api.iterator.MultiDataSetIterator;

import java.util.NoSuchElementException;
import java.util.Random;
import java.util.function.BooleanSupplier;

/**
 * The training batches of one epoch, in order, for one model or for DL4J's {@code ParallelWrapper}: images
 * {@code order[0..count)} in batches of {@code batchSize}, augmented on the calling thread (so the data are the same
 * whatever the number of workers). Each batch's labels are handed to the {@link EpochMeter} that scores it. When
 * {@code stop} says so (the time budget is spent), the epoch ends early after the batch then training; the first
 * batch is always given, so that every epoch trains.
 */
final class EpochBatches implements MultiDataSetIterator {

    private final Batches source;
    private final int[] order;
    private final int count;
    private final int batchSize;
    private final Augment augment;
    private final Random random;
    private final double smoothing;
    private final EpochMeter meter;
    private final BooleanSupplier stop;
    private int from;

    EpochBatches(Batches source, int[] order, int count, int batchSize, Augment augment, Random random,
                 double smoothing, EpochMeter meter, BooleanSupplier stop) {
        this.source = source;
        this.order = order;
        this.count = count;
        this.batchSize = batchSize;
        this.augment = augment;
        this.random = random;
        this.smoothing = smoothing;
        this.meter = meter;
        this.stop = stop;
    }

    @Override
    public boolean hasNext() {
        return from < count && (from == 0 || !stop.getAsBoolean());
    }

    @Override
    public MultiDataSet next() {
        if (from >= count) {
            throw new NoSuchElementException("the epoch has no more batches");
        }
        int to = Math.min(count, from + batchSize);
        MultiDataSet batch = source.batch(order, from, to, augment, random, smoothing);
        from = to;
        meter.expect(batch);
        return batch;
    }

    @Override
    public MultiDataSet next(int num) {
        throw new UnsupportedOperationException("batches have a fixed size");
    }

    @Override
    public void setPreProcessor(MultiDataSetPreProcessor preProcessor) {
        throw new UnsupportedOperationException("batches are normalised by Batches");
    }

    @Override
    public MultiDataSetPreProcessor getPreProcessor() {
        return null;
    }

    @Override
    public boolean resetSupported() {
        return false;
    }

    /** No: the batches are made on the thread that asks for them, in order. */
    @Override
    public boolean asyncSupported() {
        return false;
    }

    @Override
    public void reset() {
        throw new UnsupportedOperationException("one pass per epoch");
    }
}
