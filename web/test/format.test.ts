// Guards against sizes, speeds and times that read wrong: a unit off by 1024, "100 %" before
// the end, "NaN", a negative ETA, or a number that jumps between widths.
import { describe, expect, it } from 'vitest';
import { formatAgo, formatBytes, formatDuration, formatEta, formatSpeed, percent } from '../src/format';

describe('formatBytes', () => {
  it('uses binary units with IEC names', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1024)).toBe('1.0 KiB');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(512 * 1024 * 1024)).toBe('512 MiB');
    expect(formatBytes(1024 ** 3)).toBe('1.0 GiB');
    expect(formatBytes(200 * 1024 ** 3)).toBe('200 GiB');
  });
  it('keeps one decimal below 10 units and never shows 1024 of a unit', () => {
    expect(formatBytes(9.94 * 1024 * 1024)).toBe('9.9 MiB');
    expect(formatBytes(9.96 * 1024 * 1024)).toBe('10 MiB');
    expect(formatBytes(1023.7 * 1024)).toBe('1.0 MiB');
  });
  it('shows a dash for nonsense', () => {
    expect(formatBytes(-1)).toBe('—');
    expect(formatBytes(Number.NaN)).toBe('—');
  });
});

describe('formatSpeed', () => {
  it('is bytes per second, a dash when unknown or zero', () => {
    expect(formatSpeed(12.5 * 1024 * 1024)).toBe('13 MiB/s');
    expect(formatSpeed(3 * 1024 * 1024)).toBe('3.0 MiB/s');
    expect(formatSpeed(0)).toBe('—');
    expect(formatSpeed(undefined)).toBe('—');
    expect(formatSpeed(null)).toBe('—');
  });
});

describe('durations', () => {
  it('reads like a person would say it', () => {
    expect(formatDuration(45)).toBe('45 s');
    expect(formatDuration(60)).toBe('1 min');
    expect(formatDuration(725)).toBe('12 min 5 s');
    expect(formatDuration(3 * 3600 + 20 * 60)).toBe('3 h 20 min');
    expect(formatDuration(52 * 3600)).toBe('2 d 4 h');
  });
  it('gives an honest ETA or says it is still estimating', () => {
    expect(formatEta(90)).toBe('1 min 30 s left');
    expect(formatEta(0.4)).toBe('almost done');
    expect(formatEta(null)).toBe('estimating time left');
    expect(formatEta(undefined)).toBe('estimating time left');
    expect(formatEta(-5)).toBe('estimating time left');
    expect(formatEta(1e12)).toBe('estimating time left');
  });
  it('says how long ago a peer was seen', () => {
    expect(formatAgo(0)).toBe('just now');
    expect(formatAgo(12_000)).toBe('12 s ago');
  });
});

describe('percent', () => {
  it('floors, so 100 % means done', () => {
    expect(percent(0, 1000)).toBe(0);
    expect(percent(999, 1000)).toBe(99);
    expect(percent(1000, 1000)).toBe(100);
    expect(percent(1500, 1000)).toBe(100);
  });
  it('is unknown without a total', () => {
    expect(percent(10, 0)).toBeNull();
  });
});
