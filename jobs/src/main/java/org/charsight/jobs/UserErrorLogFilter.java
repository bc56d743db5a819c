package org.charsight.jobs;

import org.apache.logging.log4j.core.Filter;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.config.Node;
import org.apache.logging.log4j.core.config.plugins.Plugin;
import org.apache.logging.log4j.core.config.plugins.PluginAttribute;
import org.apache.logging.log4j.core.config.plugins.PluginFactory;
import org.apache.logging.log4j.core.filter.AbstractFilter;
import org.charsight.common.UserError;

/**
 * Drops Spark's reports of a task that failed with a {@link UserError}: the executor's stack trace
 * and the scheduler's "Lost task" line. The same error reaches the driver, where the CLI prints it
 * as one line, so a user who gave a bad path sees one line, not a stack trace. Every other failure
 * is logged as usual.
 */
@Plugin(name = "UserErrorLogFilter", category = Node.CATEGORY, elementType = Filter.ELEMENT_TYPE, printObject = true)
public final class UserErrorLogFilter extends AbstractFilter {
  private static final String MARK = UserError.class.getName();

  private UserErrorLogFilter(Result onMatch, Result onMismatch) {
    super(onMatch, onMismatch);
  }

  @PluginFactory
  public static UserErrorLogFilter create(
      @PluginAttribute("onMatch") Result onMatch, @PluginAttribute("onMismatch") Result onMismatch) {
    return new UserErrorLogFilter(onMatch == null ? Result.DENY : onMatch, onMismatch == null ? Result.NEUTRAL : onMismatch);
  }

  @Override
  public Result filter(LogEvent event) {
    if (UserError.findIn(event.getThrown()) != null) return onMatch;
    String msg = event.getMessage() == null ? null : event.getMessage().getFormattedMessage();
    return msg != null && msg.contains(MARK) ? onMatch : onMismatch;
  }
}
