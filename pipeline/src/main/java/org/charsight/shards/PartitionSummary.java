package org.charsight.shards;

import java.io.Serializable;

/**
 * What the driver needs from each tokenized partition to place its windows in the split's stream:
 * sizes, and the first {@code ctx} tokens (with their document ordinals) that the previous
 * partitions' last windows continue into. Also the statistics for the manifest.
 *
 * @param lengthHistogram counts of text tokens by byte length; the last bucket holds all longer ones
 */
public record PartitionSummary(
    int partition,
    long documents,
    long emptyDocuments,
    long tokens,
    long textTokens,
    long textBytes,
    long sourceBytes,
    long invalidUtf8,
    int[] headTokens,
    long[] headDocs,
    long[] lengthHistogram)
    implements Serializable {}
