// Voice: hold-to-talk recording (MediaRecorder → /v1/audio/transcriptions) and reading replies
// aloud (/v1/audio/speech, played as it streams in), through the same /v1 API that OpenAI
// clients use.

let playing = null; // { stop }: what is being read aloud now

export function stopSpeaking() {
  if (!playing) return;
  const current = playing;
  playing = null;
  current.stop();
}

// Read `text` aloud, starting as soon as the first sentence arrives: the server sends WAV
// sentence by sentence (a header of unknown length, then samples as they are made), and each
// piece read off the stream is queued on a Web Audio clock right after the one before, so the
// pieces join without a gap. Without Web Audio or a readable stream, the whole WAV is played
// from an Audio element once it has arrived.
export async function speak(api, text, language, onEnd) {
  stopSpeaking();
  const Context = window.AudioContext || window.webkitAudioContext;
  // made now, inside the click, so the browser lets it play
  const ctx = Context ? new Context() : null;
  const abort = new AbortController();
  let ended = false;
  const me = {
    stop() {
      if (ended) return;
      ended = true;
      abort.abort();
      if (ctx) ctx.close().catch(() => {});
      if (me.element) { me.element.pause(); URL.revokeObjectURL(me.element.src); }
      if (playing === me) playing = null;
      if (onEnd) onEnd();
    },
  };
  playing = me;
  const body = { model: "tts-1", voice: "auto", input: text, response_format: "wav" };
  if (language) body.language = language;
  let response;
  try {
    response = await api("/v1/audio/speech", {
      method: "POST", body: JSON.stringify(body), raw: true, signal: abort.signal,
    });
    if (!response.ok) {
      let message = `${response.status}`;
      try { message = (await response.json()).error.message; } catch (_) { /* not JSON */ }
      throw new Error(message);
    }
    if (ctx && response.body && response.body.getReader) {
      if (ctx.state === "suspended") ctx.resume().catch(() => {});
      await playWavStream(ctx, response.body.getReader(), me);
    } else {
      await playWhole(response, me);
    }
  } catch (err) {
    if (ended) return; // stopped by the listener: not an error
    me.stop();
    throw err;
  }
}

async function playWhole(response, me) {
  const url = URL.createObjectURL(await response.blob());
  const audio = new Audio(url);
  me.element = audio;
  audio.addEventListener("ended", () => me.stop());
  try { await audio.play(); } catch (_) { /* autoplay refused: the button still works */ }
}

// The sample rate and where the samples start, once `bytes` holds the header; else null.
function wavHeader(bytes) {
  if (bytes.length < 12) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const tag = (at) => String.fromCharCode(...bytes.subarray(at, at + 4));
  if (tag(0) !== "RIFF" || tag(8) !== "WAVE") throw new Error("the speech is not WAV");
  let at = 12;
  let rate = 0;
  while (at + 8 <= bytes.length) {
    const size = view.getUint32(at + 4, true);
    if (tag(at) === "data") return rate ? { rate, start: at + 8 } : null;
    if (tag(at) === "fmt " && at + 16 <= bytes.length) rate = view.getUint32(at + 12, true);
    at += 8 + size + (size % 2);
  }
  return null;
}

async function playWavStream(ctx, reader, me) {
  let head = new Uint8Array(0);
  let rate = 0;
  let odd = null; // a byte of a sample split between two reads
  let clock = 0;
  let done = false;
  let last = null;
  const finishIfLast = (source) => {
    if (done && source === last) me.stop();
  };
  for (;;) {
    const { value, done: finished } = await reader.read();
    if (finished) break;
    let bytes = value;
    if (!rate) {
      const joined = new Uint8Array(head.length + bytes.length);
      joined.set(head);
      joined.set(bytes, head.length);
      const found = wavHeader(joined);
      if (!found) { head = joined; continue; }
      rate = found.rate;
      bytes = joined.subarray(found.start);
    }
    if (odd) {
      const joined = new Uint8Array(bytes.length + 1);
      joined[0] = odd;
      joined.set(bytes, 1);
      bytes = joined;
      odd = null;
    }
    if (bytes.length % 2) { odd = bytes[bytes.length - 1]; bytes = bytes.subarray(0, -1); }
    if (!bytes.length) continue;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    const buffer = ctx.createBuffer(1, bytes.length / 2, rate);
    const samples = buffer.getChannelData(0);
    for (let i = 0; i < samples.length; i++) samples[i] = view.getInt16(2 * i, true) / 32768;
    const source = ctx.createBufferSource();
    source.buffer = buffer;
    source.connect(ctx.destination);
    // right after the piece before, or now (plus a moment) if the stream fell behind
    clock = Math.max(clock, ctx.currentTime + 0.05);
    source.start(clock);
    clock += buffer.duration;
    last = source;
    source.addEventListener("ended", () => finishIfLast(source));
  }
  done = true;
  if (!last || ctx.currentTime >= clock) me.stop(); // nothing queued, or all played already
}

// Hold-to-talk on one button: pointer down/up, or Space/Enter held down on the keyboard.
export function holdToTalk(button, { onStart, onAudio, onTooShort, onError }) {
  let recorder = null;
  let chunks = [];
  let startedAt = 0;
  let stream = null;

  async function start() {
    if (recorder) return;
    if (!navigator.mediaDevices || !window.MediaRecorder) { onError(); return; }
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (_) { onError(); return; }
    chunks = [];
    recorder = new MediaRecorder(stream);
    recorder.addEventListener("dataavailable", (e) => { if (e.data.size) chunks.push(e.data); });
    recorder.addEventListener("stop", () => {
      stream.getTracks().forEach((track) => track.stop());
      const held = performance.now() - startedAt;
      const blob = new Blob(chunks, { type: recorder.mimeType || "audio/webm" });
      recorder = null;
      if (held < 400 || !blob.size) onTooShort(); else onAudio(blob);
    });
    startedAt = performance.now();
    recorder.start(250);
    onStart();
  }

  function stop() {
    if (recorder && recorder.state === "recording") recorder.stop();
  }

  button.addEventListener("pointerdown", (e) => { e.preventDefault(); start(); });
  button.addEventListener("pointerup", stop);
  button.addEventListener("pointerleave", stop);
  button.addEventListener("pointercancel", stop);
  button.addEventListener("keydown", (e) => {
    if ((e.key === " " || e.key === "Enter") && !e.repeat) { e.preventDefault(); start(); }
  });
  button.addEventListener("keyup", (e) => {
    if (e.key === " " || e.key === "Enter") { e.preventDefault(); stop(); }
  });
  button.addEventListener("click", (e) => e.preventDefault());
  return { stop };
}

export async function transcribe(api, blob, language, prompt) {
  const form = new FormData();
  const ext = (blob.type.split("/")[1] || "webm").split(";")[0];
  form.append("file", blob, `speech.${ext}`);
  form.append("model", "whisper-1");
  if (language) form.append("language", language);
  if (prompt) form.append("prompt", prompt);
  const result = await api("/v1/audio/transcriptions", { method: "POST", form });
  return (result.text || "").trim();
}

// A photo made small enough for a chat message (the API takes 256 KiB a request): at most
// 1600 pixels a side, JPEG, lowering quality and size until it fits.
export async function shrinkPhoto(file, maxChars = 240_000) {
  const bitmap = await createImageBitmap(file);
  let side = 1600;
  let quality = 0.85;
  for (let attempt = 0; attempt < 8; attempt++) {
    const scale = Math.min(1, side / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(bitmap.width * scale);
    canvas.height = Math.round(bitmap.height * scale);
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    const url = canvas.toDataURL("image/jpeg", quality);
    if (url.length <= maxChars) return url;
    if (quality > 0.6) quality -= 0.1; else side = Math.round(side * 0.8);
  }
  throw new Error("the photo is too large even after shrinking it");
}
