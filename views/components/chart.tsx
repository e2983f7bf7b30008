/**
 * Small server-rendered SVG charts: a line chart (one or more series over
 * days), stacked bars (series stacked per day) and horizontal bars (one value
 * per label). No script: they scale with their box (viewBox, width 100%), so a
 * phone shows the same chart narrower. Each is an image with a title and a
 * description (role="img", <title>, <desc>, aria-label) and carries its
 * numbers as a table in a <details> below it, for screen readers and for
 * anyone who wants the exact figures.
 * @example
 * <LineChart id="dau" title="Daily active users" labels={days} series={[{ name: 'users', values }]} format={String} />
 */

const PALETTE = ['#3b5bdb', '#e8590c', '#2b8a3e', '#ae3ec9', '#1098ad', '#f08c00', '#c92a2a', '#5c940d', '#868e96']
const colourOf = (i: number) => PALETTE[i % PALETTE.length]!

export interface ChartSeries {
  name: string
  values: Array<number | null>
}

interface ChartProps {
  /** Unique in the page: ids of the title and description derive from it. */
  id: string
  title: string
  /** One sentence saying what the chart shows (its <desc>). */
  description: string
  format: (value: number) => string
}

const W = 400
const PLOT = { left: 44, right: 8, top: 10, bottom: 22 }

/** A round upper bound for the y axis: 1, 2 or 5 × 10^k at or above `max`. */
function niceMax(max: number): number {
  if (!(max > 0)) return 1
  const power = 10 ** Math.floor(Math.log10(max))
  for (const step of [1, 2, 5, 10]) if (step * power >= max) return step * power
  return 10 * power
}

const shortDay = (label: string) => (/^\d{4}-\d{2}-\d{2}$/.test(label) ? label.slice(5) : label)
const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text)

function Frame({ id, title, description, height, children, table, series }: Omit<ChartProps, 'format'> & { height: number; children: JSX.Element; table: JSX.Element; series: ChartSeries[] }) {
  return (
    <figure class="svg-chart" id={id}>
      <figcaption class="chart-title" safe>
        {title}
      </figcaption>
      <svg viewBox={`0 0 ${W} ${height}`} width="100%" role="img" aria-labelledby={`${id}-title ${id}-desc`} aria-label={`${title}. ${description}`} preserveAspectRatio="xMidYMid meet">
        <title id={`${id}-title`} safe>
          {title}
        </title>
        <desc id={`${id}-desc`} safe>
          {description}
        </desc>
        {children}
      </svg>
      <Legend series={series} />
      <details class="chart-table">
        <summary>
          Table: <span safe>{title}</span>
        </summary>
        <div class="table-scroll">{table}</div>
      </details>
    </figure>
  )
}

function Legend({ series }: { series: ChartSeries[] }) {
  if (series.length < 2) return ''
  return (
    <ul class="legend">
      {series.map((s, i) => (
        <li>
          <svg width="10" height="10" aria-hidden="true">
            <rect width="10" height="10" fill={colourOf(i)} />
          </svg>{' '}
          <span safe>{s.name}</span>
        </li>
      ))}
    </ul>
  )
}

function SeriesTable({ labels, series, format, labelHeading }: { labels: string[]; series: ChartSeries[]; format: (v: number) => string; labelHeading: string }) {
  return (
    <table class="small">
      <thead>
        <tr>
          <th safe>{labelHeading}</th>
          {series.map((s) => (
            <th class="num" safe>
              {s.name}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {labels.map((label, row) => (
          <tr>
            <td safe>{label}</td>
            {series.map((s) => {
              const value = s.values[row]
              return (
                <td class="num" safe>
                  {value === null || value === undefined ? '—' : format(value)}
                </td>
              )
            })}
          </tr>
        ))}
      </tbody>
    </table>
  )
}

/** Grid lines and y labels at 0, half and the top; x labels at the first, middle and last label. */
function Axes({ labels, top, height, format, xAt }: { labels: string[]; top: number; height: number; format: (v: number) => string; xAt: (i: number) => number }) {
  const bottom = height - PLOT.bottom
  const span = bottom - PLOT.top
  const ticks = [0, 0.5, 1]
  const marks = labels.length > 2 ? [0, Math.floor((labels.length - 1) / 2), labels.length - 1] : labels.map((_, i) => i)
  return (
    <g class="axes" font-size="10" fill="#667085">
      {ticks.map((t) => (
        <>
          <line x1={PLOT.left} x2={W - PLOT.right} y1={bottom - t * span} y2={bottom - t * span} stroke="#e4e7ec" />
          <text x={PLOT.left - 4} y={bottom - t * span + 3} text-anchor="end" safe>
            {format(top * t)}
          </text>
        </>
      ))}
      {marks.map((i) => (
        <text x={xAt(i)} y={height - 6} text-anchor={i === 0 ? 'start' : i === labels.length - 1 ? 'end' : 'middle'} safe>
          {shortDay(labels[i] ?? '')}
        </text>
      ))}
    </g>
  )
}

/** One line per series over the labels (days); a null value leaves a gap. */
export function LineChart({ id, title, description, format, labels, series }: ChartProps & { labels: string[]; series: ChartSeries[] }) {
  const height = 180
  const top = niceMax(Math.max(0, ...series.flatMap((s) => s.values.filter((v): v is number => v !== null))))
  const bottom = height - PLOT.bottom
  const xAt = (i: number) => PLOT.left + (labels.length <= 1 ? 0 : (i * (W - PLOT.left - PLOT.right)) / (labels.length - 1))
  const yAt = (v: number) => bottom - (v / top) * (bottom - PLOT.top)
  const paths = series.map((s) => {
    let d = ''
    let pen = false
    s.values.forEach((v, i) => {
      if (v === null) return (pen = false)
      d += `${pen ? 'L' : 'M'}${xAt(i).toFixed(1)},${yAt(v).toFixed(1)}`
      pen = true
    })
    return d
  })
  return (
    <Frame
      id={id}
      title={title}
      description={description}
      height={height}
      series={series}
      table={<SeriesTable labels={labels} series={series} format={format} labelHeading="Day (UTC)" />}
    >
      <>
        <Axes labels={labels} top={top} height={height} format={format} xAt={xAt} />
        {paths.map((d, i) => (
          <path d={d || 'M0,0'} fill="none" stroke={colourOf(i)} stroke-width="2" stroke-linejoin="round" />
        ))}
        {labels.length <= 31
          ? series.map((s, i) =>
              s.values.map((v, x) => (v === null ? '' : <circle cx={xAt(x).toFixed(1)} cy={yAt(v).toFixed(1)} r="2" fill={colourOf(i)} />)),
            )
          : ''}
      </>
    </Frame>
  )
}

/** Series stacked per label (day): each bar is the total, split by series. */
export function StackedBarChart({ id, title, description, format, labels, series }: ChartProps & { labels: string[]; series: ChartSeries[] }) {
  const height = 180
  const totals = labels.map((_, i) => series.reduce((sum, s) => sum + (s.values[i] ?? 0), 0))
  const top = niceMax(Math.max(0, ...totals))
  const bottom = height - PLOT.bottom
  const slot = (W - PLOT.left - PLOT.right) / Math.max(1, labels.length)
  const barWidth = Math.max(1, slot * 0.7)
  const xAt = (i: number) => PLOT.left + slot * i + slot / 2
  const scale = (v: number) => (v / top) * (bottom - PLOT.top)
  const withTotal = series.length > 1 ? [...series, { name: 'Total', values: totals }] : series
  return (
    <Frame
      id={id}
      title={title}
      description={description}
      height={height}
      series={series}
      table={<SeriesTable labels={labels} series={withTotal} format={format} labelHeading="Day (UTC)" />}
    >
      <>
        <Axes labels={labels} top={top} height={height} format={format} xAt={xAt} />
        {labels.map((label, i) => {
          let y = bottom
          return series.map((s, k) => {
            const v = s.values[i] ?? 0
            if (v <= 0) return ''
            const h = scale(v)
            y -= h
            return (
              <rect x={(xAt(i) - barWidth / 2).toFixed(1)} y={y.toFixed(1)} width={barWidth.toFixed(1)} height={h.toFixed(1)} fill={colourOf(k)}>
                <title safe>{`${label} · ${s.name}: ${format(v)}`}</title>
              </rect>
            )
          })
        })}
      </>
    </Frame>
  )
}

/** One horizontal bar per label; with two series (e.g. p50 and p95) two thin bars per label. */
export function BarChart({ id, title, description, format, labels, series, labelHeading = '' }: ChartProps & { labels: string[]; series: ChartSeries[]; labelHeading?: string }) {
  const labelWidth = 150
  const row = series.length > 1 ? 26 : 20
  const height = Math.max(1, labels.length) * row + 8
  const top = niceMax(Math.max(0, ...series.flatMap((s) => s.values.filter((v): v is number => v !== null))))
  const span = W - labelWidth - 50
  const barHeight = (row - 6) / series.length
  return (
    <Frame id={id} title={title} description={description} height={height} series={series} table={<SeriesTable labels={labels} series={series} format={format} labelHeading={labelHeading} />}>
      <g font-size="10">
        {labels.length === 0 ? (
          <text x={W / 2} y={height / 2 + 3} text-anchor="middle" fill="#667085">
            No data in this range
          </text>
        ) : (
          ''
        )}
        {labels.map((label, i) => (
          <g>
            <text x={labelWidth - 6} y={i * row + row / 2 + 4} text-anchor="end" fill="#1d1f23" safe>
              {clip(label, 22)}
            </text>
            {series.map((s, k) => {
              const v = s.values[i]
              const w = v ? Math.max(1, (v / top) * span) : 0
              const y = i * row + 4 + k * barHeight
              return (
                <>
                  <rect x={labelWidth} y={y.toFixed(1)} width={w.toFixed(1)} height={(barHeight - 1).toFixed(1)} fill={colourOf(k)}>
                    <title safe>{`${label} · ${s.name}: ${v === null || v === undefined ? '—' : format(v)}`}</title>
                  </rect>
                  <text x={(labelWidth + w + 4).toFixed(1)} y={(y + barHeight - 2).toFixed(1)} fill="#667085" safe>
                    {v === null || v === undefined ? '—' : format(v)}
                  </text>
                </>
              )
            })}
          </g>
        ))}
      </g>
    </Frame>
  )
}
