// Draws the Teams app icons shipped beside this file (color.png 192×192, outline.png 32×32), so
// they can be redrawn instead of edited by hand: `npx tsx apps/cli/assets/teams/draw-teams-icons.ts`.
// The glyph is a stamp ring around a check mark; it is rendered from distance functions with
// 8×8 supersampling for smooth edges, and written as 8-bit RGBA PNG with node:zlib only.
import { writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { TEAMS_ACCENT_COLOR } from '../../src/commands/build-teams-manifest.ts';

type Point = readonly [number, number];

interface Glyph {
  ringRadius: number;
  ringWidth: number;
  check: readonly Point[];
  checkWidth: number;
}

function distanceToSegment([px, py]: Point, [ax, ay]: Point, [bx, by]: Point): number {
  const [dx, dy] = [bx - ax, by - ay];
  const t = Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)));
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}

/** Whether a point (centre-relative pixels) lies on the glyph. */
function onGlyph(point: Point, glyph: Glyph): boolean {
  if (Math.abs(Math.hypot(point[0], point[1]) - glyph.ringRadius) <= glyph.ringWidth / 2) return true;
  for (let i = 1; i < glyph.check.length; i++) {
    const [from, to] = [glyph.check[i - 1], glyph.check[i]];
    if (from && to && distanceToSegment(point, from, to) <= glyph.checkWidth / 2) return true;
  }
  return false;
}

/** Share of each pixel covered by the glyph, 0..1, row by row. */
function coverage(size: number, glyph: Glyph): Float64Array {
  const samples = 8;
  const out = new Float64Array(size * size);
  const centre = size / 2;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let hits = 0;
      for (let sy = 0; sy < samples; sy++) {
        for (let sx = 0; sx < samples; sx++) {
          const point: Point = [x + (sx + 0.5) / samples - centre, y + (sy + 0.5) / samples - centre];
          if (onGlyph(point, glyph)) hits++;
        }
      }
      out[y * size + x] = hits / (samples * samples);
    }
  }
  return out;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = (CRC_TABLE[(crc ^ byte) & 0xff] ?? 0) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** An 8-bit RGBA, non-interlaced PNG; every scanline uses filter 0 (none). */
function encodePng(size: number, rgba: (index: number) => readonly [number, number, number, number]): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 6, 0, 0, 0], 8); // bit depth 8, colour type 6 (RGBA), deflate, filter 0, no interlace
  const raw = Buffer.alloc(size * (1 + size * 4));
  for (let y = 0; y < size; y++) {
    const row = y * (1 + size * 4);
    for (let x = 0; x < size; x++) raw.set(rgba(y * size + x), row + 1 + x * 4);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function hexColor(hex: string): [number, number, number] {
  const value = Number.parseInt(hex.slice(1), 16);
  return [(value >> 16) & 0xff, (value >> 8) & 0xff, value & 0xff];
}

// Color icon: white glyph on the accent colour, inside the central area Teams keeps clear of its
// rounded-corner crop.
const COLOR_SIZE = 192;
const colorCoverage = coverage(COLOR_SIZE, {
  ringRadius: 56,
  ringWidth: 10,
  check: [
    [-27, 2],
    [-8, 21],
    [28, -19],
  ],
  checkWidth: 14,
});
const [r, g, b] = hexColor(TEAMS_ACCENT_COLOR);
const blend = (from: number, alpha: number) => Math.round(from + (255 - from) * alpha);
const colorPng = encodePng(COLOR_SIZE, (i) => {
  const alpha = colorCoverage[i] ?? 0;
  return [blend(r, alpha), blend(g, alpha), blend(b, alpha), 255];
});

// Outline icon: white only, on transparent, filling the 32×32 square as Teams asks.
const OUTLINE_SIZE = 32;
const outlineCoverage = coverage(OUTLINE_SIZE, {
  ringRadius: 14,
  ringWidth: 2.5,
  check: [
    [-7, 0.5],
    [-2, 5.5],
    [7.5, -5],
  ],
  checkWidth: 3.5,
});
const outlinePng = encodePng(OUTLINE_SIZE, (i) => [
  255,
  255,
  255,
  Math.round((outlineCoverage[i] ?? 0) * 255),
]);

writeFileSync(new URL('color.png', import.meta.url), colorPng);
writeFileSync(new URL('outline.png', import.meta.url), outlinePng);
console.log(`wrote color.png (${colorPng.length} bytes) and outline.png (${outlinePng.length} bytes)`);
