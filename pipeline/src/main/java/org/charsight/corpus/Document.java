package org.charsight.corpus;

import java.io.Serializable;

/**
 * One document as read from the corpus, before normalisation.
 *
 * @param id stable identity (path, path#paragraph, path@offset or the user's id field); it decides
 *     the train/validation split and the order of documents in the shards
 * @param text decoded text, invalid UTF-8 already replaced by U+FFFD
 * @param sourceBytes bytes this document took in the (decompressed) source
 * @param invalidUtf8 invalid UTF-8 sequences replaced while decoding
 */
public record Document(String id, String text, long sourceBytes, long invalidUtf8) implements Serializable {}
