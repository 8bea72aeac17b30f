// The live voice page: the microphone to the bot as 16 kHz PCM, the bot's speech back as 24 kHz
// PCM played without gaps. No build step and nothing from outside: this file is all of it.
"use strict";

const STRINGS = {
  en: { title: "Live voice", you: "You", bot: "Answer", connecting: "Connecting…",
    ready: "Tap to talk", listening: "Listening… tap to pause", thinking: "Thinking…",
    speaking: "Speaking… tap to stop", start: "Tap to talk", pause: "Pause", stop: "Stop",
    error: "Something went wrong. Close and open the page again.",
    replaced: "Live voice was opened somewhere else.", microphone: "The microphone is not available." },
  ru: { title: "Живой голос", you: "Вы", bot: "Ответ", connecting: "Подключение…",
    ready: "Нажмите, чтобы говорить", listening: "Слушаю… нажмите для паузы", thinking: "Думаю…",
    speaking: "Говорю… нажмите, чтобы остановить", start: "Говорить", pause: "Пауза", stop: "Стоп",
    error: "Что-то пошло не так. Закройте и снова откройте страницу.",
    replaced: "Живой голос открыт в другом месте.", microphone: "Микрофон недоступен." },
  es: { title: "Voz en vivo", you: "Tú", bot: "Respuesta", connecting: "Conectando…",
    ready: "Toca para hablar", listening: "Escuchando… toca para pausar", thinking: "Pensando…",
    speaking: "Hablando… toca para parar", start: "Hablar", pause: "Pausa", stop: "Parar",
    error: "Algo salió mal. Cierra y vuelve a abrir la página.",
    replaced: "La voz en vivo se abrió en otro lugar.", microphone: "El micrófono no está disponible." },
  de: { title: "Live-Sprache", you: "Du", bot: "Antwort", connecting: "Verbinde…",
    ready: "Tippen zum Sprechen", listening: "Ich höre zu… tippen für Pause", thinking: "Ich denke nach…",
    speaking: "Ich spreche… tippen zum Stoppen", start: "Sprechen", pause: "Pause", stop: "Stopp",
    error: "Etwas ist schiefgelaufen. Schließe die Seite und öffne sie erneut.",
    replaced: "Live-Sprache wurde woanders geöffnet.", microphone: "Das Mikrofon ist nicht verfügbar." },
  zh: { title: "实时语音", you: "你", bot: "回答", connecting: "连接中…",
    ready: "点按开始说话", listening: "正在听…点按暂停", thinking: "思考中…",
    speaking: "正在说…点按停止", start: "说话", pause: "暂停", stop: "停止",
    error: "出了点问题。请关闭并重新打开页面。",
    replaced: "实时语音已在别处打开。", microphone: "麦克风不可用。" },
};
const IN_RATE = 16000;
const OUT_RATE = 24000;
const FRAME_SAMPLES = 320; // 20 ms at 16 kHz
const $ = (role) => document.querySelector(`[data-role="${role}"]`);

const launch = new URLSearchParams(location.hash.slice(1));
const webApp = window.Telegram && window.Telegram.WebApp;
const initData = (webApp && webApp.initData) || launch.get("tgWebAppData") || "";
let language = pickLanguage(userLanguage());
let socket = null;
let audio = null; // { context, stream, node }
let micOn = false;
let speechDone = true;
const playing = new Set();
let playAt = 0;
let playedSeconds = 0;

function userLanguage() {
  try {
    const user = JSON.parse(new URLSearchParams(initData).get("user") || "{}");
    return user.language_code || navigator.language;
  } catch (error) {
    return navigator.language;
  }
}

function pickLanguage(code) {
  const base = String(code || "en").toLowerCase().split(/[-_]/)[0];
  return STRINGS[base] ? base : "en";
}

function text(key) {
  return STRINGS[language][key] || STRINGS.en[key];
}

function applyTheme() {
  let theme = (webApp && webApp.themeParams) || null;
  if (!theme && launch.get("tgWebAppThemeParams")) {
    try { theme = JSON.parse(launch.get("tgWebAppThemeParams")); } catch (error) { theme = null; }
  }
  for (const [key, value] of Object.entries(theme || {})) {
    document.documentElement.style.setProperty(`--tg-theme-${key.replace(/_/g, "-")}`, value);
  }
}

function translate() {
  document.documentElement.lang = language;
  for (const element of document.querySelectorAll("[data-text]")) {
    element.textContent = text(element.dataset.text);
  }
  setState(document.body.dataset.state);
}

function setState(state) {
  document.body.dataset.state = state;
  $("status").textContent = text(state) || "";
  const label = { listening: "pause", thinking: "pause", speaking: "stop" }[state] || "start";
  $("label").textContent = text(label);
  $("talk").setAttribute("aria-pressed", String(micOn));
}

function showError(message) {
  $("error").textContent = message || "";
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  socket = new WebSocket(`${scheme}//${location.host}${location.pathname.replace(/\/$/, "")}/ws`);
  socket.binaryType = "arraybuffer";
  socket.onopen = () => socket.send(JSON.stringify({ type: "hello", init_data: initData }));
  socket.onmessage = (event) => {
    if (typeof event.data === "string") onMessage(JSON.parse(event.data));
    else onSpeech(event.data);
  };
  socket.onclose = (event) => {
    stopMic();
    stopSpeech();
    if (document.body.dataset.state !== "error") {
      showError(event.code === 4409 ? text("replaced") : $("error").textContent || text("error"));
      setState("error");
    }
  };
}

function onMessage(message) {
  switch (message.type) {
    case "ready":
      language = pickLanguage(message.language);
      translate();
      setState("ready");
      break;
    case "transcript":
      if (!message.final) { $("transcript").textContent = message.text; break; }
      if (message.text) {
        $("transcript").textContent = message.text;
        $("answer").textContent = "";
        showError("");
        setState("thinking");
      } else if (document.body.dataset.state === "thinking") {
        setState(micOn ? "listening" : "ready");
      }
      speechDone = false;
      break;
    case "answer":
      $("answer").textContent += message.text;
      break;
    case "answer_end":
      $("answer").textContent = message.text;
      break;
    case "speech_end":
      speechDone = true;
      settle();
      break;
    case "interrupted":
      stopSpeech();
      setState(micOn ? "listening" : "ready");
      break;
    case "error":
      showError(message.message);
      if (["auth", "blocked", "busy"].includes(message.code)) setState("error");
      else { speechDone = true; settle(); }
      break;
    default:
      break;
  }
}

function onSpeech(buffer) {
  if (!audio) return;
  const context = audio.context;
  const pcm = new Int16Array(buffer);
  const clip = context.createBuffer(1, pcm.length, OUT_RATE);
  const channel = clip.getChannelData(0);
  for (let i = 0; i < pcm.length; i += 1) channel[i] = pcm[i] / 32768;
  const source = context.createBufferSource();
  source.buffer = clip;
  source.connect(context.destination);
  // Each clip starts where the last one ends: no gaps between frames or sentences.
  playAt = Math.max(playAt, context.currentTime + 0.05);
  source.start(playAt);
  playAt += clip.duration;
  playing.add(source);
  source.onended = () => { playing.delete(source); settle(); };
  playedSeconds += clip.duration;
  document.body.dataset.played = playedSeconds.toFixed(2);
  setState("speaking");
}

function settle() {
  const state = document.body.dataset.state;
  if (speechDone && playing.size === 0 && (state === "speaking" || state === "thinking")) {
    setState(micOn ? "listening" : "ready");
  }
}

function stopSpeech() {
  for (const source of playing) {
    source.onended = null;
    try { source.stop(); } catch (error) { /* not started yet */ }
  }
  playing.clear();
  playAt = 0;
}

const CAPTURE = `
class Capture extends AudioWorkletProcessor {
  constructor() { super(); this.step = sampleRate / ${IN_RATE}; this.pos = 0; this.last = 0;
    this.frame = new Int16Array(${FRAME_SAMPLES}); this.filled = 0; }
  process(inputs) {
    const input = inputs[0] && inputs[0][0];
    if (!input) return true;
    let pos = this.pos;
    while (pos < input.length - 1) {
      const i = Math.floor(pos); const f = pos - i;
      const a = i < 0 ? this.last : input[i]; const b = input[i + 1];
      const v = Math.max(-1, Math.min(1, a + (b - a) * f));
      this.frame[this.filled++] = v < 0 ? v * 32768 : v * 32767;
      if (this.filled === this.frame.length) {
        this.port.postMessage(this.frame.buffer, [this.frame.buffer]);
        this.frame = new Int16Array(${FRAME_SAMPLES}); this.filled = 0;
      }
      pos += this.step;
    }
    this.pos = pos - input.length; this.last = input[input.length - 1];
    return true;
  }
}
registerProcessor("capture", Capture);`;

async function startMic() {
  if (!audio) {
    const context = new AudioContext();
    const module = URL.createObjectURL(new Blob([CAPTURE], { type: "text/javascript" }));
    await context.audioWorklet.addModule(module);
    audio = { context, stream: null, node: null };
  }
  await audio.context.resume();
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 },
  });
  const node = new AudioWorkletNode(audio.context, "capture");
  node.port.onmessage = (event) => {
    if (micOn && socket && socket.readyState === WebSocket.OPEN) socket.send(event.data);
  };
  audio.context.createMediaStreamSource(stream).connect(node);
  audio.stream = stream;
  audio.node = node;
  micOn = true;
}

function stopMic() {
  micOn = false;
  if (audio && audio.stream) {
    for (const track of audio.stream.getTracks()) track.stop();
    audio.node.disconnect();
    audio.stream = null;
  }
}

async function onTap() {
  const state = document.body.dataset.state;
  if (state === "connecting" || state === "error") return;
  if (state === "speaking" || (state === "thinking" && micOn)) {
    if (state === "speaking") {
      socket.send(JSON.stringify({ type: "stop" }));
      stopSpeech();
      setState(micOn ? "listening" : "ready");
      return;
    }
  }
  if (micOn) {
    stopMic();
    setState("ready");
    return;
  }
  try {
    await startMic();
    showError("");
    setState("listening");
  } catch (error) {
    showError(text("microphone"));
  }
}

applyTheme();
translate();
if (webApp) { webApp.ready(); webApp.expand(); }
$("talk").addEventListener("click", onTap);
connect();
