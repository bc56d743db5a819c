package org.charsight.common;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.Path;

/**
 * The {@code manifest.json} every stage writes beside its output: what went in (inputs, config),
 * what came out (counts) and with which software (versions). Later stages read the manifests of
 * their inputs rather than reaching into how the earlier stage works.
 */
public final class Manifest {
  public static final String FILE = "manifest.json";
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private final Map<String, Object> root = new LinkedHashMap<>();

  public Manifest(String stage) {
    root.put("stage", stage);
    root.put("created", Instant.now().toString());
  }

  public Manifest put(String key, Object value) {
    root.put(key, value);
    return this;
  }

  public void write(FileSystem fs, Path dir) {
    root.put("versions", versions());
    try (OutputStream out = withoutChecksums(fs).create(new Path(dir, FILE), true)) {
      JSON.writeValue(out, root);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + new Path(dir, FILE), e);
    }
  }

  /** Reads a stage's manifest; a missing one means the directory is not that stage's output. */
  public static JsonNode read(String dir, Configuration conf, String expectedStage) {
    Path p = new Path(dir, FILE);
    try {
      FileSystem fs = withoutChecksums(p.getFileSystem(conf));
      if (!fs.exists(p)) {
        throw new UserError(dir + ": not a " + expectedStage + " output (no " + FILE + ")");
      }
      JsonNode node;
      try (InputStream in = fs.open(p)) {
        node = JSON.readTree(in);
      }
      String stage = node.path("stage").asText("");
      if (!stage.equals(expectedStage)) {
        throw new UserError(dir + ": expected the output of " + expectedStage + ", found '" + stage + "' in " + FILE);
      }
      return node;
    } catch (IOException e) {
      throw new UserError(p + ": cannot read manifest: " + e.getMessage(), e);
    }
  }

  /**
   * Manifests are small JSON files people read and sometimes edit; on the local file system a
   * hidden .crc beside them would make an edited manifest unreadable, so none is written or checked.
   */
  public static FileSystem withoutChecksums(FileSystem fs) {
    return fs instanceof LocalFileSystem local ? local.getRawFileSystem() : fs;
  }

  /**
   * A path as a full URI (a relative local path against the working directory), for manifests:
   * stages that follow a recorded path may run elsewhere (another directory, a cluster's driver).
   */
  public static String qualified(String path, Configuration conf) {
    Path p = new Path(path);
    try {
      return p.getFileSystem(conf).makeQualified(p).toString();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot resolve " + path, e);
    }
  }

  /** Versions of charsight and what it is built on, as pinned in the pom (filtered into a resource). */
  public static Map<String, String> versions() {
    Map<String, String> v = new LinkedHashMap<>();
    Properties built = new Properties();
    try (InputStream in = Manifest.class.getClassLoader().getResourceAsStream("charsight/versions.properties")) {
      if (in != null) built.load(in);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read charsight/versions.properties", e);
    }
    v.put("charsight", built.getProperty("charsight", "unknown"));
    v.put("java", System.getProperty("java.version"));
    v.put("spark", org.apache.spark.package$.MODULE$.SPARK_VERSION());
    v.put("scala", scala.util.Properties.versionNumberString());
    for (String k : new String[] {"jtokkit", "dl4j", "dl4j_spark"}) v.put(k, built.getProperty(k, "unknown"));
    return v;
  }

  /** A dependency's version from the pom.properties Maven puts into every jar. */
  public static String mavenVersion(String group, String artifact) {
    String res = "META-INF/maven/" + group + "/" + artifact + "/pom.properties";
    try (InputStream in = Manifest.class.getClassLoader().getResourceAsStream(res)) {
      if (in == null) return "unknown";
      Properties p = new Properties();
      p.load(in);
      return p.getProperty("version", "unknown");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + res, e);
    }
  }

  public static ObjectMapper json() {
    return JSON;
  }
}
