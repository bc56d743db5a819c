package org.charsight.tokenize;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.GptBytePairEncodingParams;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.charsight.common.UserError;

/**
 * A tokenizer made by {@code train-tokenizer}, loaded into JTokkit as a custom encoding.
 *
 * <p>On disk: {@code tokenizer.tiktoken} (one line per token: base64 of its bytes, a space, its
 * rank; the format tiktoken-compatible tools read) and {@code tokenizer.json} (name, pre-split regex,
 * special tokens, vocabulary size).
 */
public final class TrainedTokenizer extends JtokkitTokenizer {
  public static final String RANKS_FILE = "tokenizer.tiktoken";
  public static final String INFO_FILE = "tokenizer.json";
  public static final String END_OF_TEXT = "<|endoftext|>";
  public static final String PAD = "<|pad|>";

  /** The two files' contents, shipped to executors; equal when their digests are equal. */
  public static final class Files implements Serializable {
    private static final long serialVersionUID = 1L;
    final byte[] info;
    final byte[] ranks;
    final String digest;

    public Files(byte[] info, byte[] ranks) {
      this.info = info.clone();
      this.ranks = ranks.clone();
      this.digest = sha256(info, ranks);
    }

    public String digest() {
      return digest;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Files f && f.digest.equals(digest);
    }

    @Override
    public int hashCode() {
      return digest.hashCode();
    }

    /**
     * Files for a vocabulary (ids 0..n-1 by rank) with the two special tokens after it.
     *
     * @param extra further fields for tokenizer.json (e.g. bytes_per_token), may be empty
     */
    public static Files build(List<byte[]> vocab, String name, String regex, Map<String, Object> extra) {
      byte[] ranks = ranksFile(vocab);
      Map<String, Object> info = new LinkedHashMap<>();
      info.put("name", name);
      info.put("type", "byte-level BPE");
      info.put("vocab_size", vocab.size() + 2);
      info.put("merges", vocab.size() - 256);
      info.put("pattern", regex);
      Map<String, Integer> specials = new LinkedHashMap<>();
      specials.put(END_OF_TEXT, vocab.size());
      specials.put(PAD, vocab.size() + 1);
      info.put("special_tokens", specials);
      info.putAll(extra);
      try {
        return new Files(new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsBytes(info), ranks);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot render " + INFO_FILE, e);
      }
    }

    public byte[] info() {
      return info.clone();
    }

    public byte[] ranks() {
      return ranks.clone();
    }

    public static Files read(String dir, Configuration conf) {
      return new Files(readFile(dir, INFO_FILE, conf), readFile(dir, RANKS_FILE, conf));
    }
  }

  private final String name;
  private final Map<Integer, String> specials;
  private final int endOfText;
  private final double bytesPerTokenHint;

  /** The two files, checked and turned into what the tokenizer holds. */
  private record Parsed(String name, String regex, Encoding encoding, byte[][] bytesById, Map<Integer, String> specials,
      int endOfText, double bytesPerTokenHint) {}

  private TrainedTokenizer(Parsed p) {
    super(p.encoding(), p.regex(), p.bytesById());
    this.name = p.name();
    this.specials = p.specials();
    this.endOfText = p.endOfText();
    this.bytesPerTokenHint = p.bytesPerTokenHint();
  }

  private static Parsed parse(Files files) {
    JsonNode info;
    try {
      info = new ObjectMapper().readTree(files.info);
    } catch (IOException e) {
      throw new UserError(INFO_FILE + ": not valid JSON: " + e.getMessage(), e);
    }
    String name = info.path("name").asText("bpe");
    String regex = info.path("pattern").asText(null);
    if (regex == null) throw new UserError(INFO_FILE + ": missing 'pattern'");
    Map<byte[], Integer> ranks = parseRanks(files.ranks);
    int n = ranks.size();
    byte[][] bytesById = new byte[n + 2][];
    for (Map.Entry<byte[], Integer> e : ranks.entrySet()) bytesById[e.getValue()] = e.getKey();
    for (int i = 0; i < 256; i++) {
      if (bytesById[i] == null || bytesById[i].length != 1 || (bytesById[i][0] & 0xff) != i) {
        throw new UserError(RANKS_FILE + ": rank " + i + " must be the single byte " + i + " (byte-level BPE)");
      }
    }
    Map<String, Integer> special = new LinkedHashMap<>();
    info.path("special_tokens").fields().forEachRemaining(e -> special.put(e.getKey(), e.getValue().asInt()));
    if (!special.containsKey(END_OF_TEXT)) throw new UserError(INFO_FILE + ": special_tokens has no " + END_OF_TEXT);
    Map<Integer, String> specials = new HashMap<>();
    for (Map.Entry<String, Integer> e : special.entrySet()) {
      if (e.getValue() < n || e.getValue() >= n + special.size()) {
        throw new UserError(INFO_FILE + ": special token " + e.getKey() + " has id " + e.getValue()
            + "; expected ids " + n + ".." + (n + special.size() - 1) + " after the " + n + " ranks");
      }
      specials.put(e.getValue(), e.getKey());
      bytesById[e.getValue()] = new byte[0];
    }
    Encoding encoding = Encodings.newLazyEncodingRegistry()
        .registerGptBytePairEncoding(new GptBytePairEncodingParams(name, PreSplit.compile(regex), ranks, special))
        .getEncoding(name)
        .orElseThrow();
    return new Parsed(name, regex, encoding, bytesById, specials, special.get(END_OF_TEXT),
        info.path("bytes_per_token").asDouble(4.0));
  }

  public static TrainedTokenizer of(Files files) {
    return new TrainedTokenizer(parse(files));
  }

  public static TrainedTokenizer load(String dir, Configuration conf) {
    return new TrainedTokenizer(parse(Files.read(dir, conf)));
  }

  private static Map<byte[], Integer> parseRanks(byte[] file) {
    Map<byte[], Integer> ranks = new HashMap<>();
    String[] lines = new String(file, StandardCharsets.US_ASCII).split("\n");
    boolean[] seen = new boolean[lines.length];
    int lineNo = 0;
    for (String line : lines) {
      lineNo++;
      if (line.isEmpty()) continue;
      int sp = line.indexOf(' ');
      try {
        byte[] b = Base64.getDecoder().decode(line.substring(0, sp));
        int rank = Integer.parseInt(line.substring(sp + 1).trim());
        if (rank < 0 || rank >= lines.length || seen[rank]) throw new IllegalArgumentException("rank " + rank);
        seen[rank] = true;
        ranks.put(b, rank);
      } catch (RuntimeException e) {
        throw new UserError(RANKS_FILE + " line " + lineNo + ": expected '<base64 bytes> <rank>' with unique ranks, got '"
            + (line.length() > 60 ? line.substring(0, 60) + "..." : line) + "'");
      }
    }
    for (int r = 0; r < ranks.size(); r++) {
      if (!seen[r]) throw new UserError(RANKS_FILE + ": ranks must be 0.." + (ranks.size() - 1) + "; " + r + " is missing");
    }
    return ranks;
  }

  /** Writes the rank file: for each id in order, base64 of its bytes and the id. */
  public static byte[] ranksFile(List<byte[]> vocab) {
    StringBuilder sb = new StringBuilder();
    for (int id = 0; id < vocab.size(); id++) {
      sb.append(Base64.getEncoder().encodeToString(vocab.get(id))).append(' ').append(id).append('\n');
    }
    return sb.toString().getBytes(StandardCharsets.US_ASCII);
  }

  private static byte[] readFile(String dir, String file, Configuration conf) {
    Path p = new Path(dir, file);
    try {
      FileSystem fs = p.getFileSystem(conf);
      if (!fs.exists(p)) throw new UserError(dir + ": not a trained tokenizer (no " + file + ")");
      try (InputStream in = fs.open(p)) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        in.transferTo(out);
        return out.toByteArray();
      }
    } catch (IOException e) {
      throw new UserError("cannot read " + p + ": " + e.getMessage(), e);
    }
  }

  static String sha256(byte[]... parts) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      for (byte[] p : parts) md.update(p);
      return HexFormat.of().formatHex(md.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required of every JVM", e);
    }
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public double bytesPerTokenHint() {
    return bytesPerTokenHint;
  }

  @Override
  public int endOfText() {
    return endOfText;
  }

  @Override
  public boolean isSpecial(int id) {
    return specials.containsKey(id);
  }

  @Override
  public String specialText(int id) {
    return specials.get(id);
  }

  @Override
  public String toString() {
    return "TrainedTokenizer[" + name + ", vocab " + vocabSize() + "]";
  }
}
