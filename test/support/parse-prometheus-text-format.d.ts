// The package ships JavaScript only; the tests check the parsed shape with zod.
declare module 'parse-prometheus-text-format' {
  export default function parsePrometheusTextFormat(text: string): unknown;
}
