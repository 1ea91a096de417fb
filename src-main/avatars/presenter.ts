import { randomBytes } from 'node:crypto';
import { mkdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { renderAsync } from '@resvg/resvg-js';
import { VISEMES, type Viseme } from '../../src-shared/visemes';

/**
 * The built-in presenter: an illustrated person drawn here as SVG and rasterised with resvg
 * into one transparent PNG per (mouth shape, eye state). Only the mouth and the eyes change
 * between sprites, each inside its own box, so a renderer can swap whole sprites or just
 * those regions.
 */

export type EyeState = 'open' | 'half' | 'closed';
export const EYE_STATES: readonly EyeState[] = ['open', 'half', 'closed'];

/** Bump whenever the drawing changes: it is part of every cached sprite's file name. */
export const PRESENTER_ART_VERSION = '1';

export interface PresenterSprites {
  width: number;
  height: number;
  files: Record<`${Viseme}-${EyeState}`, string>;
  mouthBox: { x: number; y: number; width: number; height: number };
  eyesBox: { x: number; y: number; width: number; height: number };
}

// The drawing's own coordinate space; sprites are the view box scaled to the requested height.
const VIEW = { x: 0, y: 60, width: 800, height: 900 };

const CX = 400;
const EYE_Y = 336;
const EYE_DX = 60;
const MOUTH_Y = 466;

// Every mouth shape stays inside MOUTH_AREA and every eye state inside EYES_AREA (view units);
// the tests hold the drawing to that, since later work may repaint only these regions.
const MOUTH_AREA = { x: 350, y: 444, width: 100, height: 84 };
const EYES_AREA = { x: 298, y: 312, width: 204, height: 44 };

const C = {
  skin: '#F2C6A4',
  skinLight: '#F9DCC4',
  skinShade: '#E2A784',
  skinDeep: '#C98565',
  blush: '#EF8F7F',
  hair: '#35221D',
  hairMid: '#4C3129',
  hairLight: '#76513F',
  hairDeep: '#24160F',
  brow: '#3B2620',
  lash: '#26160F',
  iris: '#80583A',
  irisDark: '#3F2617',
  pupil: '#1C110D',
  eyeWhite: '#FBF8F5',
  lipUpper: '#B65861',
  lipLower: '#CF727A',
  lipLine: '#7A2C35',
  cavity: '#521A22',
  cavityDeep: '#2A090E',
  teeth: '#FBF7F1',
  teethShade: '#E6DDD3',
  tongue: '#D66F7A',
  tongueShade: '#B24E5B',
  blazer: '#2E3F62',
  blazerLight: '#3E5482',
  blazerDark: '#1F2B47',
  lapel: '#34497A',
  shirt: '#F6F1EA',
  shirtShade: '#DCD3C6',
  gold: '#E2B65E',
};

const n = (v: number): string => String(Math.round(v * 100) / 100);

function defs(): string {
  return `<defs>
  <radialGradient id="face" cx="0.56" cy="0.4" r="0.7">
    <stop offset="0" stop-color="${C.skinLight}"/>
    <stop offset="0.55" stop-color="${C.skin}"/>
    <stop offset="1" stop-color="${C.skinShade}"/>
  </radialGradient>
  <linearGradient id="neck" gradientUnits="userSpaceOnUse" x1="0" y1="480" x2="0" y2="690">
    <stop offset="0" stop-color="${C.skinDeep}"/>
    <stop offset="0.45" stop-color="${C.skinShade}"/>
    <stop offset="1" stop-color="${C.skin}"/>
  </linearGradient>
  <linearGradient id="hair" gradientUnits="userSpaceOnUse" x1="360" y1="110" x2="440" y2="600">
    <stop offset="0" stop-color="${C.hairMid}"/>
    <stop offset="1" stop-color="${C.hair}"/>
  </linearGradient>
  <radialGradient id="hairSheen" gradientUnits="userSpaceOnUse" cx="480" cy="170" r="90">
    <stop offset="0" stop-color="${C.hairLight}" stop-opacity="0.75"/>
    <stop offset="1" stop-color="${C.hairLight}" stop-opacity="0"/>
  </radialGradient>
  <radialGradient id="shine" cx="0.5" cy="0.5" r="0.5">
    <stop offset="0" stop-color="#FFFFFF" stop-opacity="0.4"/>
    <stop offset="1" stop-color="#FFFFFF" stop-opacity="0"/>
  </radialGradient>
  <linearGradient id="blazer" x1="0.2" y1="0" x2="0.8" y2="1">
    <stop offset="0" stop-color="${C.blazerLight}"/>
    <stop offset="1" stop-color="${C.blazer}"/>
  </linearGradient>
  <linearGradient id="shirt" x1="0" y1="0" x2="0" y2="1">
    <stop offset="0" stop-color="${C.shirtShade}"/>
    <stop offset="0.3" stop-color="${C.shirt}"/>
  </linearGradient>
  <radialGradient id="iris" cx="0.5" cy="0.42" r="0.55">
    <stop offset="0" stop-color="${C.iris}"/>
    <stop offset="0.65" stop-color="${C.iris}"/>
    <stop offset="1" stop-color="${C.irisDark}"/>
  </radialGradient>
  <radialGradient id="blush" cx="0.5" cy="0.5" r="0.5">
    <stop offset="0" stop-color="${C.blush}" stop-opacity="0.42"/>
    <stop offset="1" stop-color="${C.blush}" stop-opacity="0"/>
  </radialGradient>
  <radialGradient id="softShade" cx="0.5" cy="0.5" r="0.5">
    <stop offset="0" stop-color="${C.skinDeep}" stop-opacity="0.35"/>
    <stop offset="1" stop-color="${C.skinDeep}" stop-opacity="0"/>
  </radialGradient>
  <linearGradient id="cavity" x1="0" y1="0" x2="0" y2="1">
    <stop offset="0" stop-color="${C.cavityDeep}"/>
    <stop offset="1" stop-color="${C.cavity}"/>
  </linearGradient>
  <linearGradient id="lipLower" x1="0" y1="0" x2="0" y2="1">
    <stop offset="0" stop-color="${C.lipLower}"/>
    <stop offset="1" stop-color="${C.lipUpper}"/>
  </linearGradient>
</defs>`;
}

const FACE_PATH =
  'M 400 172 C 482 172 536 222 537 310 C 538 388 530 436 506 476 ' +
  'C 478 522 442 542 400 542 C 358 542 322 522 294 476 C 270 436 262 388 263 310 ' +
  'C 264 222 318 172 400 172 Z';

// A long bob: the back layer shows round the face and neck, the front layer is a side part
// with a fringe swept to the presenter's left, tucked behind the ears.
const BACK_HAIR_PATH =
  'M 404 110 C 548 106 620 214 612 346 C 608 420 622 490 624 548 ' +
  'C 626 574 618 596 602 608 C 598 596 590 590 582 588 C 578 600 566 608 548 608 ' +
  'C 544 598 534 590 524 588 C 520 578 516 570 512 562 C 470 584 330 584 288 562 ' +
  'C 284 570 280 578 276 588 C 266 590 256 598 252 608 C 234 608 222 600 218 588 ' +
  'C 210 590 202 596 198 608 C 182 596 174 574 176 548 C 178 490 192 420 188 346 ' +
  'C 182 214 260 112 404 110 Z';

const FRONT_HAIR_PATH =
  'M 262 322 C 240 232 292 124 404 118 C 522 112 578 222 540 322 ' +
  'C 538 304 532 286 520 272 C 500 252 470 246 440 240 C 404 234 372 214 356 186 ' +
  'C 336 214 300 236 288 270 C 280 286 270 304 262 322 Z';

function backHair(): string {
  return `<path d="${BACK_HAIR_PATH}" fill="url(#hair)"/>
  <path d="M 262 330 C 258 470 300 560 400 572 C 500 560 542 470 538 330 Z" fill="${C.hairDeep}"/>
  <path d="M 204 540 C 198 480 206 420 204 370" fill="none" stroke="${C.hairLight}" stroke-width="5" stroke-linecap="round" stroke-opacity="0.45"/>
  <path d="M 596 540 C 602 480 594 420 596 370" fill="none" stroke="${C.hairLight}" stroke-width="5" stroke-linecap="round" stroke-opacity="0.45"/>
  <path d="M 232 580 C 218 540 222 470 226 420" fill="none" stroke="${C.hairDeep}" stroke-width="3" stroke-linecap="round" stroke-opacity="0.7"/>
  <path d="M 568 580 C 582 540 578 470 574 420" fill="none" stroke="${C.hairDeep}" stroke-width="3" stroke-linecap="round" stroke-opacity="0.7"/>`;
}

function body(): string {
  // Drawn for the viewer's left half and mirrored: blazer panel, notched lapel, shirt collar.
  const half = `<path d="M 346 586 C 286 602 172 612 120 652 C 80 686 62 790 56 960 L 404 960 L 404 880 Z" fill="url(#blazer)"/>
  <path d="M 150 720 C 160 800 166 880 168 960" fill="none" stroke="${C.blazerDark}" stroke-width="4" stroke-linecap="round" stroke-opacity="0.6"/>
  <path d="M 352 594 L 402 872 L 300 724 L 286 708 L 312 694 L 302 664 L 334 598 Z" fill="${C.blazerDark}" fill-opacity="0.6" transform="translate(-6 6)"/>
  <path d="M 352 594 L 402 872 L 300 724 L 286 708 L 312 694 L 302 664 L 334 598 Z" fill="${C.lapel}"/>
  <path d="M 312 694 L 302 664" stroke="${C.blazerDark}" stroke-width="3" stroke-linecap="round"/>
  <path d="M 352 572 C 344 592 336 628 330 662 L 390 700 L 400 690 Z" fill="${C.shirt}"/>
  <path d="M 330 662 L 390 700" stroke="${C.shirtShade}" stroke-width="3" stroke-linecap="round"/>`;
  return `<path d="M 352 580 L 330 700 L 360 960 L 440 960 L 470 700 L 448 580 Z" fill="url(#shirt)"/>
  <path d="M 352 570 L 400 694 L 448 570 Z" fill="url(#neck)"/>
  <path d="M 400 694 L 400 960" stroke="${C.shirtShade}" stroke-width="2"/>
  ${half}
  <g transform="translate(800 0) scale(-1 1)">${half}</g>
  <circle cx="400" cy="912" r="8" fill="${C.blazerDark}"/>`;
}

function neck(): string {
  return `<path d="M 354 470 L 352 592 C 372 610 428 610 448 592 L 446 470 Z" fill="url(#neck)"/>
  <ellipse cx="400" cy="548" rx="56" ry="22" fill="url(#softShade)"/>`;
}

function ears(): string {
  const ear = `<path d="M 270 326 C 246 312 230 334 234 362 C 238 390 250 408 274 408 Z" fill="${C.skin}"/>
  <path d="M 264 340 C 250 334 244 350 248 366 C 251 382 258 392 268 394" fill="none" stroke="${C.skinDeep}" stroke-width="3" stroke-linecap="round" stroke-opacity="0.55"/>
  <circle cx="260" cy="411" r="5" fill="${C.gold}"/>
  <circle cx="258.5" cy="409.5" r="1.6" fill="#FFF4D6"/>`;
  return `${ear}<g transform="translate(800 0) scale(-1 1)">${ear}</g>`;
}

function face(): string {
  return `<path d="${FACE_PATH}" fill="url(#face)"/>
  <g clip-path="url(#faceClip)">
    <path d="${FRONT_HAIR_PATH}" transform="translate(3 10)" fill="${C.skinDeep}" fill-opacity="0.3"/>
  </g>
  <ellipse cx="320" cy="430" rx="34" ry="20" fill="url(#blush)"/>
  <ellipse cx="480" cy="430" rx="34" ry="20" fill="url(#blush)"/>`;
}

function nose(): string {
  return `<path d="M 391 350 C 389 374 382 394 384 408" fill="none" stroke="${C.skinShade}" stroke-width="3.5" stroke-linecap="round"/>
  <ellipse cx="400" cy="420" rx="18" ry="6" fill="url(#softShade)"/>
  <path d="M 385 413 C 390 422 410 422 415 413" fill="none" stroke="${C.skinDeep}" stroke-width="3" stroke-linecap="round" stroke-opacity="0.85"/>
  <ellipse cx="405" cy="405" rx="6" ry="4" fill="url(#shine)"/>`;
}

function brows(): string {
  const brow = (cx: number, dir: 1 | -1): string => {
    // Drawn for the viewer's right brow and mirrored, so the tail always points outwards.
    const p = (dx: number, dy: number): string => `${n(cx + dx * dir)} ${n(EYE_Y + dy)}`;
    return `<path d="M ${p(-30, -38)} C ${p(-14, -52)} ${p(16, -56)} ${p(38, -42)} C ${p(18, -48)} ${p(-12, -46)} ${p(-30, -32)} Z" fill="${C.brow}"/>`;
  };
  return brow(CX + EYE_DX, 1) + brow(CX - EYE_DX, -1);
}

function eye(cx: number, dir: 1 | -1, state: EyeState): string {
  // Drawn for the viewer's right eye (outer corner at +x) and mirrored for the other one.
  const p = (dx: number, dy: number): string => `${n(cx + dx * dir)} ${n(EYE_Y + dy)}`;
  const lower = `C ${p(18, 15)} ${p(-14, 16)} ${p(-27, 3)}`;
  const crease = `<path d="M ${p(-22, -16)} C ${p(-10, -30)} ${p(14, -31)} ${p(30, -13)}" fill="none" stroke="${C.skinDeep}" stroke-width="2.2" stroke-linecap="round" stroke-opacity="0.5"/>`;
  if (state === 'closed') {
    return `${crease}
  <path d="M ${p(-27, 3)} C ${p(-14, 14)} ${p(14, 14)} ${p(28, 1)}" fill="none" stroke="${C.lash}" stroke-width="4.5" stroke-linecap="round"/>
  <path d="M ${p(24, 5)} Q ${p(31, 3)} ${p(34, -2)} Q ${p(33, 5)} ${p(26, 8)} Z" fill="${C.lash}"/>`;
  }
  const lid = state === 'open' ? [-17, -19] : [-4, -5];
  const upper = `C ${p(-18, lid[0]!)} ${p(14, lid[1]!)} ${p(28, 0)}`;
  const shape = `M ${p(-27, 3)} ${upper} ${lower} Z`;
  const clipId = `eye${dir === 1 ? 'R' : 'L'}`;
  const irisX = cx + dir * 1;
  // The light comes from the viewer's upper right, so the highlights are not mirrored.
  return `<clipPath id="${clipId}"><path d="${shape}"/></clipPath>
  ${crease}
  <path d="${shape}" fill="${C.eyeWhite}"/>
  <g clip-path="url(#${clipId})">
    <circle cx="${n(irisX)}" cy="${EYE_Y + 1}" r="13.5" fill="url(#iris)"/>
    <circle cx="${n(irisX)}" cy="${EYE_Y + 1}" r="6" fill="${C.pupil}"/>
    <circle cx="${n(irisX + 4.5)}" cy="${EYE_Y - 3}" r="3.4" fill="#FFFFFF"/>
    <circle cx="${n(irisX - 4)}" cy="${EYE_Y + 7}" r="1.5" fill="#FFFFFF" fill-opacity="0.8"/>
    <path d="M ${p(-27, 3)} ${upper}" fill="none" stroke="${C.skinDeep}" stroke-width="7" stroke-opacity="0.22"/>
  </g>
  <path d="M ${p(-25, 5)} C ${p(-12, 16)} ${p(16, 15)} ${p(27, 2)}" fill="none" stroke="${C.skinDeep}" stroke-width="1.5" stroke-opacity="0.5"/>
  <path d="M ${p(-27, 3)} ${upper}" fill="none" stroke="${C.lash}" stroke-width="4.5" stroke-linecap="round"/>
  <path d="M ${p(22, -2)} Q ${p(31, -4)} ${p(36, -10)} Q ${p(34, -1)} ${p(26, 3)} Z" fill="${C.lash}"/>`;
}

interface MouthShape {
  hw: number; // outer half width
  cornerY: number;
  top: number; // top of the upper lip
  bottom: number; // bottom of the lower lip
  openTop: number; // top of the opening; for a closed mouth, the y of the line between the lips
  openBottom: number; // equal to openTop for a closed mouth
  openHw: number;
  round: number; // 0: wide mouth with sharp corners .. 1: rounded pucker
  upperTeeth: number; // visible height of the upper teeth
  lowerTeeth: number;
  tongue: 'none' | 'low' | 'up';
}

// Offsets from the mouth centre, in view units.
const MOUTHS: Record<Viseme, MouthShape> = {
  rest: { hw: 38, cornerY: -3.5, top: -10, bottom: 12, openTop: 1.5, openBottom: 1.5, openHw: 38, round: 0.2, upperTeeth: 0, lowerTeeth: 0, tongue: 'none' },
  MBP: { hw: 34, cornerY: 1, top: -6, bottom: 8, openTop: 1, openBottom: 1, openHw: 34, round: 0.1, upperTeeth: 0, lowerTeeth: 0, tongue: 'none' },
  AI: { hw: 37, cornerY: 0, top: -13, bottom: 44, openTop: -7, openBottom: 35, openHw: 34, round: 0.55, upperTeeth: 9, lowerTeeth: 0, tongue: 'low' },
  E: { hw: 44, cornerY: -2, top: -11, bottom: 22, openTop: -5, openBottom: 14, openHw: 41, round: 0.2, upperTeeth: 8, lowerTeeth: 3, tongue: 'none' },
  O: { hw: 26, cornerY: 4, top: -15, bottom: 36, openTop: -8, openBottom: 27, openHw: 17, round: 1, upperTeeth: 5, lowerTeeth: 0, tongue: 'low' },
  U: { hw: 18, cornerY: 1, top: -13, bottom: 16, openTop: -4, openBottom: 6, openHw: 8, round: 1, upperTeeth: 0, lowerTeeth: 0, tongue: 'none' },
  FV: { hw: 38, cornerY: 0, top: -13, bottom: 11, openTop: -5, openBottom: 3, openHw: 31, round: 0.2, upperTeeth: 9, lowerTeeth: 0, tongue: 'none' },
  L: { hw: 37, cornerY: 0, top: -12, bottom: 31, openTop: -6, openBottom: 23, openHw: 34, round: 0.5, upperTeeth: 7, lowerTeeth: 0, tongue: 'up' },
  CDG: { hw: 41, cornerY: -1, top: -10, bottom: 17, openTop: -4, openBottom: 8, openHw: 38, round: 0.15, upperTeeth: 6, lowerTeeth: 5, tongue: 'none' },
};

function mouth(v: Viseme): string {
  const m = MOUTHS[v];
  const X = (dx: number): string => n(CX + dx);
  const Y = (dy: number): string => n(MOUTH_Y + dy);
  const P = (dx: number, dy: number): string => `${X(dx)} ${Y(dy)}`;
  const r = m.round;
  const bow = m.hw * (0.28 - 0.08 * r);
  const dip = 3 - r;

  // Outer contour: a cupid's bow on top; corners sharpen as the mouth widens, round as it puckers.
  const upperK = 0.35 + 0.2 * r;
  const upperOuter =
    `M ${P(-m.hw, m.cornerY)} ` +
    `C ${P(-m.hw + (1 - r) * 0.35 * (m.hw - bow), m.cornerY + (m.top - m.cornerY) * upperK)} ${P(-bow - (m.hw - bow) * 0.5, m.top)} ${P(-bow, m.top)} ` +
    `Q ${P(-bow * 0.5, m.top)} ${P(0, m.top + dip)} Q ${P(bow * 0.5, m.top)} ${P(bow, m.top)} ` +
    `C ${P(bow + (m.hw - bow) * 0.5, m.top)} ${P(m.hw - (1 - r) * 0.35 * (m.hw - bow), m.cornerY + (m.top - m.cornerY) * upperK)} ${P(m.hw, m.cornerY)}`;
  const lowerK = 0.3 + 0.25 * r;
  const lowerOuter =
    `C ${P(m.hw - (1 - r) * 0.2 * m.hw, m.cornerY + (m.bottom - m.cornerY) * lowerK)} ${P(m.hw * 0.55, m.bottom)} ${P(0, m.bottom)} ` +
    `C ${P(-m.hw * 0.55, m.bottom)} ${P(-m.hw + (1 - r) * 0.2 * m.hw, m.cornerY + (m.bottom - m.cornerY) * lowerK)} ${P(-m.hw, m.cornerY)} Z`;
  const outer = `${upperOuter} ${lowerOuter}`;

  const closed = m.openBottom <= m.openTop;
  const lipMid = closed ? m.openTop : m.openBottom;
  const highlight = `<ellipse cx="${X(5)}" cy="${Y((lipMid + m.bottom) / 2 + 1)}" rx="${n(m.hw * 0.36)}" ry="3.5" fill="url(#shine)"/>`;
  const underLip = `<ellipse cx="${X(0)}" cy="${Y(m.bottom + 6)}" rx="${n(m.hw * 0.55)}" ry="6" fill="url(#softShade)"/>`;

  if (closed) {
    const line = m.openTop;
    const lipLine = `M ${P(-m.hw, m.cornerY)} C ${P(-m.hw * 0.5, line)} ${P(m.hw * 0.5, line)} ${P(m.hw, m.cornerY)}`;
    const upperLip = `${upperOuter} C ${P(m.hw * 0.5, line)} ${P(-m.hw * 0.5, line)} ${P(-m.hw, m.cornerY)} Z`;
    const corner = (s: 1 | -1): string =>
      `<path d="M ${P(s * (m.hw + 2.5), m.cornerY - 2)} Q ${P(s * (m.hw + 1.5), m.cornerY)} ${P(s * (m.hw - 1), m.cornerY)}" fill="none" stroke="${C.skinDeep}" stroke-width="1.6" stroke-linecap="round" stroke-opacity="0.5"/>`;
    return `${underLip}
  <path d="${outer}" fill="url(#lipLower)"/>
  <path d="${upperLip}" fill="${C.lipUpper}"/>
  ${highlight}
  <path d="${lipLine}" fill="none" stroke="${C.lipLine}" stroke-width="2.4"/>
  ${corner(-1)}${corner(1)}`;
  }

  const ohw = m.openHw;
  const k = 0.4 + 0.15 * r;
  const edge = (y: number): string => P(ohw - (1 - r) * 0.3 * ohw, m.cornerY + (y - m.cornerY) * k);
  const edgeL = (y: number): string => P(-ohw + (1 - r) * 0.3 * ohw, m.cornerY + (y - m.cornerY) * k);
  const innerTopReversed = `C ${edge(m.openTop)} ${P(ohw * 0.55, m.openTop)} ${P(0, m.openTop)} C ${P(-ohw * 0.55, m.openTop)} ${edgeL(m.openTop)} ${P(-ohw, m.cornerY)}`;
  const inner =
    `M ${P(-ohw, m.cornerY)} C ${edgeL(m.openTop)} ${P(-ohw * 0.55, m.openTop)} ${P(0, m.openTop)} ` +
    `C ${P(ohw * 0.55, m.openTop)} ${edge(m.openTop)} ${P(ohw, m.cornerY)} ` +
    `C ${edge(m.openBottom)} ${P(ohw * 0.55, m.openBottom)} ${P(0, m.openBottom)} ` +
    `C ${P(-ohw * 0.55, m.openBottom)} ${edgeL(m.openBottom)} ${P(-ohw, m.cornerY)} Z`;
  // The upper lip is the band between the outer top edge and the opening's top edge.
  const upperLip = `${upperOuter} L ${P(ohw, m.cornerY)} ${innerTopReversed} Z`;

  if (v === 'FV') {
    // The lower lip tucks up under the upper teeth, so the teeth are drawn over it.
    const t = m.openTop - 2;
    const b = m.openBottom + 4;
    return `${underLip}
  <path d="${outer}" fill="url(#lipLower)"/>
  <path d="${inner}" fill="url(#cavity)"/>
  <path d="M ${P(-ohw * 0.82, t)} L ${P(ohw * 0.82, t)} L ${P(ohw * 0.78, b - 2)} Q ${P(0, b + 2)} ${P(-ohw * 0.78, b - 2)} Z" fill="${C.teeth}"/>
  <path d="M ${P(-ohw * 0.78, b - 1)} Q ${P(0, b + 3)} ${P(ohw * 0.78, b - 1)}" fill="none" stroke="${C.lipLine}" stroke-width="1.5" stroke-opacity="0.45"/>
  <path d="${upperLip}" fill="${C.lipUpper}"/>
  ${highlight}`;
  }

  const parts: string[] = [];
  if (m.tongue === 'low') {
    const h = (m.openBottom - m.openTop) * 0.42;
    parts.push(`<ellipse cx="${X(0)}" cy="${Y(m.openBottom - h * 0.3)}" rx="${n(ohw * 0.7)}" ry="${n(h)}" fill="${C.tongue}"/>`);
    parts.push(`<ellipse cx="${X(0)}" cy="${Y(m.openBottom - h * 0.3)}" rx="${n(ohw * 0.7)}" ry="${n(h)}" fill="none" stroke="${C.tongueShade}" stroke-width="2" stroke-opacity="0.5"/>`);
  }
  if (m.tongue === 'up') {
    const tipY = m.openTop + m.upperTeeth;
    parts.push(
      `<path d="M ${P(-ohw * 0.85, m.openBottom + 2)} C ${P(-ohw * 0.75, m.openBottom - 12)} ${P(-ohw * 0.4, tipY + 2)} ${P(0, tipY)} C ${P(ohw * 0.4, tipY + 2)} ${P(ohw * 0.75, m.openBottom - 12)} ${P(ohw * 0.85, m.openBottom + 2)} Z" fill="${C.tongue}"/>`,
      `<path d="M ${P(0, tipY + 7)} L ${P(0, m.openBottom - 4)}" stroke="${C.tongueShade}" stroke-width="2" stroke-linecap="round" stroke-opacity="0.5"/>`,
    );
  }
  if (m.upperTeeth > 0) {
    const t = m.openTop - 4;
    const b = m.openTop + m.upperTeeth;
    parts.push(
      `<path d="M ${P(-ohw, t)} L ${P(ohw, t)} L ${P(ohw, b - 3)} Q ${P(0, b + 2)} ${P(-ohw, b - 3)} Z" fill="${C.teeth}"/>`,
      `<path d="M ${P(-ohw * 0.9, b - 2)} Q ${P(0, b + 3)} ${P(ohw * 0.9, b - 2)}" fill="none" stroke="${C.teethShade}" stroke-width="1.5"/>`,
    );
  }
  if (m.lowerTeeth > 0) {
    const b = m.openBottom + 4;
    const t = m.openBottom - m.lowerTeeth;
    parts.push(`<path d="M ${P(-ohw, b)} L ${P(ohw, b)} L ${P(ohw, t + 2)} Q ${P(0, t - 2)} ${P(-ohw, t + 2)} Z" fill="${C.teethShade}"/>`);
  }

  const clipId = `mouth-${v}`;
  return `<clipPath id="${clipId}"><path d="${inner}"/></clipPath>
  ${underLip}
  <path d="${outer}" fill="url(#lipLower)"/>
  <path d="${inner}" fill="url(#cavity)"/>
  <g clip-path="url(#${clipId})">${parts.join('')}</g>
  <path d="${upperLip}" fill="${C.lipUpper}"/>
  ${highlight}`;
}

function frontHair(): string {
  return `<path d="${FRONT_HAIR_PATH}" fill="url(#hair)"/>
  <path d="M 404 132 C 480 124 544 170 556 252 C 530 196 476 150 404 132 Z" fill="url(#hairSheen)"/>
  <path d="M 356 186 C 390 150 470 150 520 200" fill="none" stroke="${C.hairDeep}" stroke-width="3.5" stroke-linecap="round" stroke-opacity="0.6"/>
  <path d="M 380 210 C 430 200 490 214 530 270" fill="none" stroke="${C.hairDeep}" stroke-width="3" stroke-linecap="round" stroke-opacity="0.5"/>
  <path d="M 348 196 C 320 214 300 240 290 280" fill="none" stroke="${C.hairDeep}" stroke-width="3" stroke-linecap="round" stroke-opacity="0.5"/>
  <path d="M 410 150 C 470 160 520 200 540 270" fill="none" stroke="${C.hairLight}" stroke-width="4" stroke-linecap="round" stroke-opacity="0.5"/>
  <path d="M 340 160 C 300 180 278 220 272 280" fill="none" stroke="${C.hairLight}" stroke-width="4" stroke-linecap="round" stroke-opacity="0.45"/>`;
}

/**
 * The whole presenter as a standalone SVG document with a transparent background. Translucent
 * shapes use fill-opacity and stroke-opacity, never opacity: resvg 2.6 aborts the process when
 * an element with group opacity lies wholly outside the canvas, as it does in a cropped view.
 */
export function presenterSvg(mouthShape: Viseme, eyes: EyeState): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${VIEW.width}" height="${VIEW.height}" viewBox="${VIEW.x} ${VIEW.y} ${VIEW.width} ${VIEW.height}">
${defs()}
<clipPath id="faceClip"><path d="${FACE_PATH}"/></clipPath>
${backHair()}
${neck()}
${body()}
${ears()}
${face()}
${nose()}
${brows()}
${eye(CX + EYE_DX, 1, eyes)}
${eye(CX - EYE_DX, -1, eyes)}
${mouth(mouthShape)}
${frontHair()}
</svg>`;
}

function toSpriteBox(area: { x: number; y: number; width: number; height: number }, scale: number, width: number, height: number) {
  // Rounded outwards so anti-aliased edges of the changing shapes stay inside the box.
  const x = Math.max(0, Math.floor((area.x - VIEW.x) * scale) - 1);
  const y = Math.max(0, Math.floor((area.y - VIEW.y) * scale) - 1);
  const right = Math.min(width, Math.ceil((area.x - VIEW.x + area.width) * scale) + 1);
  const bottom = Math.min(height, Math.ceil((area.y - VIEW.y + area.height) * scale) + 1);
  return { x, y, width: right - x, height: bottom - y };
}

async function exists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).size > 0;
  } catch {
    return false;
  }
}

async function renderSprite(svg: string, height: number, file: string): Promise<void> {
  const image = await renderAsync(svg, { fitTo: { mode: 'height', value: height }, font: { loadSystemFonts: false } });
  // Written under a temp name and renamed, so a crash mid-write never leaves a truncated PNG
  // under the name the cache trusts.
  const temp = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(temp, image.asPng());
    await rename(temp, file);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
}

// resvg rasterises on libuv's pool (4 threads by default) but encodes PNGs on this thread; a few
// sprites in flight keep both busy without holding every raw bitmap (13 MB each at 1900 px).
const SPRITES_IN_FLIGHT = 4;

/**
 * Rasterise all 27 presenter sprites at the given height into cacheDir, reusing files already
 * rendered there for the same art version and height.
 */
export async function renderPresenterSprites(cacheDir: string, height: number): Promise<PresenterSprites> {
  if (!Number.isInteger(height) || height < 16 || height > 4320) {
    throw new Error(`presenter sprite height ${height} is not usable; pass a whole number of pixels from 16 to 4320`);
  }
  await mkdir(cacheDir, { recursive: true });
  const files = {} as PresenterSprites['files'];
  const missing: { svg: () => string; file: string }[] = [];
  for (const v of VISEMES) {
    for (const e of EYE_STATES) {
      const file = join(cacheDir, `presenter-v${PRESENTER_ART_VERSION}-h${height}-${v}-${e}.png`);
      files[`${v}-${e}`] = file;
      if (!(await exists(file))) missing.push({ svg: () => presenterSvg(v, e), file });
    }
  }
  await Promise.all(
    Array.from({ length: Math.min(SPRITES_IN_FLIGHT, missing.length) }, async () => {
      for (let job = missing.shift(); job; job = missing.shift()) await renderSprite(job.svg(), height, job.file);
    }),
  );
  // resvg scales uniformly to the height and rounds the width to the nearest pixel.
  const scale = height / VIEW.height;
  const width = Math.round(VIEW.width * scale);
  return {
    width,
    height,
    files,
    mouthBox: toSpriteBox(MOUTH_AREA, scale, width, height),
    eyesBox: toSpriteBox(EYES_AREA, scale, width, height),
  };
}
