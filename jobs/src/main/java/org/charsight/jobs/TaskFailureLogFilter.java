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
 * Keeps Spark's reports of a failed task off the console: the executor's "Exception in task", the
 * scheduler's "Lost task" and "aborting job", and anything carrying a {@link UserError}. The failure
 * reaches the driver, where the CLI prints it as one line; the log file keeps these reports whole.
 */
@Plugin(name = "TaskFailureLogFilter", category = Node.CATEGORY, elementType = Filter.ELEMENT_TYPE, printObject = true)
public final class TaskFailureLogFilter extends AbstractFilter {
  private static final String MARK = UserError.class.getName();

  private TaskFailureLogFilter(Result onMatch, Result onMismatch) {
    super(onMatch, onMismatch);
  }

  @PluginFactory
  public static TaskFailureLogFilter create(
      @PluginAttribute("onMatch") Result onMatch, @PluginAttribute("onMismatch") Result onMismatch) {
    return new TaskFailureLogFilter(onMatch == null ? Result.DENY : onMatch, onMismatch == null ? Result.NEUTRAL : onMismatch);
  }

  @Override
  public Result filter(LogEvent event) {
    if (UserError.findIn(event.getThrown()) != null) return onMatch;
    String msg = event.getMessage() == null ? null : event.getMessage().getFormattedMessage();
    if (msg == null) return onMismatch;
    String logger = event.getLoggerName() == null ? "" : event.getLoggerName();
    boolean taskReport = (logger.equals("org.apache.spark.executor.Executor") && msg.startsWith("Exception in task"))
        || (logger.equals("org.apache.spark.scheduler.TaskSetManager")
            && (msg.startsWith("Lost task") || msg.contains("aborting job")));
    return taskReport || msg.contains(MARK) ? onMatch : onMismatch;
  }
}
