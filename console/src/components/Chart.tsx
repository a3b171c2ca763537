import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

/** A small time-series chart (uPlot): one line per series over the same x (epoch seconds). */
export default function Chart(props: { title: string; x: number[]; series: { label: string; values: (number | null)[]; color: string }[]; height?: number }) {
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = host.current as HTMLDivElement;
    const width = Math.max(240, element.clientWidth);
    const plot = new uPlot(
      {
        width,
        height: props.height ?? 160,
        legend: { show: true },
        axes: [{ stroke: 'currentColor' }, { stroke: 'currentColor' }],
        series: [{}, ...props.series.map((s) => ({ label: s.label, stroke: s.color, width: 2 }))],
      },
      [props.x, ...props.series.map((s) => s.values)],
      element,
    );
    const resize = () => plot.setSize({ width: Math.max(240, element.clientWidth), height: props.height ?? 160 });
    window.addEventListener('resize', resize);
    return () => {
      window.removeEventListener('resize', resize);
      plot.destroy();
    };
  }, [props.x, props.series, props.height]);
  return <figure style={{ margin: 0 }}><figcaption className="muted">{props.title}</figcaption><div ref={host} className="chart" role="img" aria-label={props.title} /></figure>;
}
