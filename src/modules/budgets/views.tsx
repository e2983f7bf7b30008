/** The budget notice on the sessions pages: loaded by htmx after the page, shown from 80 % of a budget. */
import type { UsageView } from './model'

/** The placeholder a page renders; it fetches the notice once loaded, so the page itself needs no budget query. */
export function BudgetNoticeSlot() {
  return <div id="budget-notice" hx-get="/budget/notice" hx-trigger="load" hx-swap="outerHTML" />
}

export function BudgetNotice({ usage }: { usage: UsageView }) {
  if (usage.warnings.length === 0) return <div id="budget-notice" />
  return (
    <div id="budget-notice" class="notice" role="status">
      {usage.warnings.map((warning) => (
        <p safe>{warning.message}</p>
      ))}
    </div>
  )
}
