package org.charsight.report;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.AffineTransform;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;

/**
 * Accuracy per category with a 95% interval whisker per series: the one chart XChart cannot
 * draw faithfully (its error bars are symmetric; bootstrap intervals near 0 or 1 are not), so it
 * is drawn here with Java2D. Values are fractions in [0, 1].
 */
final class IntervalChart {
  record Series(String name, Color color, double[] value, double[] low, double[] high) {}

  private static final int WIDTH = 800;
  private static final int HEIGHT = 480;
  private static final BasicStroke FLOOR_STROKE =
      new BasicStroke(1.5f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[] {5f, 4f}, 0f);
  private final String title;
  private final List<String> categories;
  private final List<Series> series = new ArrayList<>();
  /** Per category, what a model scores without reading letters (NaN: unknown); drawn as a dashed line. */
  private double[] floor;

  IntervalChart(String title, List<String> categories) {
    this.title = title;
    this.categories = List.copyOf(categories);
  }

  String title() {
    return title;
  }

  void add(Series s) {
    if (s.value().length != categories.size()) throw new IllegalArgumentException(s.name() + ": one value per category");
    series.add(s);
  }

  void floor(double[] perCategory) {
    if (perCategory.length != categories.size()) throw new IllegalArgumentException("floor: one value per category");
    this.floor = perCategory.clone();
  }

  void writePng(OutputStream out) throws IOException {
    BufferedImage img = new BufferedImage(WIDTH, HEIGHT, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = img.createGraphics();
    g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
    g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
    g.setColor(Color.WHITE);
    g.fillRect(0, 0, WIDTH, HEIGHT);
    Font font = new Font(Font.SANS_SERIF, Font.PLAIN, 12);
    g.setFont(font.deriveFont(Font.BOLD, 14f));
    FontMetrics tm = g.getFontMetrics();
    g.setColor(Color.BLACK);
    g.drawString(title, (WIDTH - tm.stringWidth(title)) / 2, 24);
    g.setFont(font);
    // Below the legend, with room under the plot for slanted category names.
    Plot p = new Plot(g, 60, WIDTH - 20, 52 + 16 * (series.size() + (floor != null ? 1 : 0)), HEIGHT - 110);
    p.axes();
    double slot = (p.right - p.left) / (double) Math.max(1, categories.size());
    for (int c = 0; c < categories.size(); c++) p.category(c, p.left + slot * (c + 0.5), slot);
    p.legend();
    g.dispose();
    if (!ImageIO.write(img, "png", out)) throw new IOException("no PNG writer in this JVM");
  }

  /** The plot area: exact match 0 to 1 from bottom to top, categories from left to right. */
  private final class Plot {
    final Graphics2D g;
    final FontMetrics fm;
    final int left;
    final int right;
    final int top;
    final int bottom;

    Plot(Graphics2D g, int left, int right, int top, int bottom) {
      this.g = g;
      this.fm = g.getFontMetrics();
      this.left = left;
      this.right = right;
      this.top = top;
      this.bottom = bottom;
    }

    /** Grid lines, the y axis labelled 0 to 1, the x axis. */
    void axes() {
      for (int i = 0; i <= 4; i++) {
        double v = i / 4.0;
        int y = y(v, top, bottom);
        g.setColor(new Color(225, 225, 225));
        g.drawLine(left, y, right, y);
        g.setColor(Color.DARK_GRAY);
        String label = String.format(Locale.ROOT, "%.2f", v);
        g.drawString(label, left - 8 - fm.stringWidth(label), y + fm.getAscent() / 2 - 1);
      }
      g.setColor(Color.DARK_GRAY);
      g.drawLine(left, top, left, bottom);
      g.drawLine(left, bottom, right, bottom);
      AffineTransform base = g.getTransform();
      g.rotate(-Math.PI / 2);
      g.drawString("exact match", -(top + bottom) / 2 - fm.stringWidth("exact match") / 2, 16);
      g.setTransform(base);
    }

    /** Category c at x = cx: its name, slanted, and each series' value with its interval. */
    void category(int c, double cx, double slot) {
      g.setColor(Color.DARK_GRAY);
      g.drawLine((int) cx, bottom, (int) cx, bottom + 4);
      AffineTransform t = g.getTransform();
      g.translate(cx, bottom + 10);
      g.rotate(Math.PI / 6);
      g.drawString(categories.get(c), 0, fm.getAscent());
      g.setTransform(t);
      if (floor != null && !Double.isNaN(floor[c])) {
        g.setColor(Color.GRAY);
        g.setStroke(FLOOR_STROKE);
        int yf = y(floor[c], top, bottom);
        g.drawLine((int) (cx - slot * 0.4), yf, (int) (cx + slot * 0.4), yf);
      }
      for (int s = 0; s < series.size(); s++) {
        Series sr = series.get(s);
        if (Double.isNaN(sr.value()[c])) continue;
        double x = cx + (s - (series.size() - 1) / 2.0) * Math.min(18, slot / (series.size() + 1));
        g.setColor(sr.color());
        g.setStroke(new BasicStroke(2f));
        if (!Double.isNaN(sr.low()[c]) && !Double.isNaN(sr.high()[c])) {
          int lo = y(sr.low()[c], top, bottom);
          int hi = y(sr.high()[c], top, bottom);
          g.drawLine((int) x, lo, (int) x, hi);
          g.drawLine((int) x - 4, lo, (int) x + 4, lo);
          g.drawLine((int) x - 4, hi, (int) x + 4, hi);
        }
        int yv = y(sr.value()[c], top, bottom);
        g.fillOval((int) x - 5, yv - 5, 10, 10);
      }
    }

    /** Top right, one row per series. */
    void legend() {
      int ly = 40;
      for (Series sr : series) {
        int lx = right - 140;
        g.setColor(sr.color());
        g.fillOval(lx, ly - 9, 10, 10);
        g.setColor(Color.BLACK);
        g.drawString(sr.name(), lx + 16, ly);
        ly += 16;
      }
      if (floor != null) {
        int lx = right - 140;
        g.setColor(Color.GRAY);
        g.setStroke(FLOOR_STROKE);
        g.drawLine(lx - 2, ly - 4, lx + 12, ly - 4);
        g.setColor(Color.BLACK);
        g.drawString("floor (no spelling needed)", lx + 16, ly);
      }
    }
  }

  private static int y(double v, int top, int bottom) {
    return (int) Math.round(bottom - Math.max(0, Math.min(1, v)) * (bottom - top));
  }
}
