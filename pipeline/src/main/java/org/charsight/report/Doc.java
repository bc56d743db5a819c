package org.charsight.report;

import java.util.ArrayList;
import java.util.List;

/** The report's content as blocks, rendered to Markdown and to HTML so both say the same thing. */
final class Doc {
  private sealed interface Block permits Heading, Paragraph, Table, Image, Code {}

  private record Heading(int level, String text) implements Block {}

  private record Paragraph(String text) implements Block {}

  private record Table(List<String> header, List<List<String>> rows) implements Block {}

  private record Image(String file, String caption) implements Block {}

  private record Code(String text) implements Block {}

  private final List<Block> blocks = new ArrayList<>();

  void heading(int level, String text) {
    blocks.add(new Heading(level, text));
  }

  void paragraph(String text) {
    blocks.add(new Paragraph(text));
  }

  void table(List<String> header, List<List<String>> rows) {
    blocks.add(new Table(header, rows));
  }

  void image(String file, String caption) {
    blocks.add(new Image(file, caption));
  }

  void code(String text) {
    blocks.add(new Code(text));
  }

  String markdown() {
    StringBuilder sb = new StringBuilder();
    for (Block b : blocks) {
      if (b instanceof Heading h) {
        sb.append("#".repeat(h.level())).append(' ').append(h.text()).append("\n\n");
      } else if (b instanceof Paragraph p) {
        sb.append(p.text()).append("\n\n");
      } else if (b instanceof Table t) {
        sb.append("| ").append(String.join(" | ", t.header())).append(" |\n|");
        sb.append(" --- |".repeat(t.header().size())).append('\n');
        for (List<String> r : t.rows()) sb.append("| ").append(String.join(" | ", r)).append(" |\n");
        sb.append('\n');
      } else if (b instanceof Image i) {
        sb.append("![").append(i.caption()).append("](").append(i.file()).append(")\n\n");
      } else if (b instanceof Code c) {
        sb.append("```\n").append(c.text().strip()).append("\n```\n\n");
      }
    }
    return sb.toString();
  }

  String html(String title) {
    StringBuilder sb = new StringBuilder("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>")
        .append(esc(title)).append("</title>\n<style>body{font-family:sans-serif;max-width:70em;margin:2em auto;padding:0 1em}"
            + "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left}"
            + "img{max-width:100%}pre{background:#f6f6f6;padding:1em;overflow:auto}</style></head><body>\n");
    for (Block b : blocks) {
      if (b instanceof Heading h) {
        sb.append("<h").append(h.level()).append('>').append(esc(h.text())).append("</h").append(h.level()).append(">\n");
      } else if (b instanceof Paragraph p) {
        sb.append("<p>").append(esc(p.text())).append("</p>\n");
      } else if (b instanceof Table t) {
        sb.append("<table><tr>");
        for (String h : t.header()) sb.append("<th>").append(esc(h)).append("</th>");
        sb.append("</tr>\n");
        for (List<String> r : t.rows()) {
          sb.append("<tr>");
          for (String c : r) sb.append("<td>").append(esc(c)).append("</td>");
          sb.append("</tr>\n");
        }
        sb.append("</table>\n");
      } else if (b instanceof Image i) {
        sb.append("<figure><img src=\"").append(esc(i.file())).append("\" alt=\"").append(esc(i.caption()))
            .append("\"><figcaption>").append(esc(i.caption())).append("</figcaption></figure>\n");
      } else if (b instanceof Code c) {
        sb.append("<pre>").append(esc(c.text().strip())).append("</pre>\n");
      }
    }
    return sb.append("</body></html>\n").toString();
  }

  private static String esc(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
  }
}
