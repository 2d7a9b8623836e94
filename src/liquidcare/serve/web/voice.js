// Voice: hold-to-talk recording (MediaRecorder → /v1/audio/transcriptions) and reading replies
// aloud (/v1/audio/speech), through the same /v1 API that OpenAI clients use.

let playing = null; // { audio, button, url }

export function stopSpeaking() {
  if (!playing) return;
  playing.audio.pause();
  URL.revokeObjectURL(playing.url);
  if (playing.done) playing.done();
  playing = null;
}

export async function speak(api, text, language, onEnd) {
  stopSpeaking();
  // WAV: no encoding to wait for (the reply is spoken as soon as it is synthesised)
  const body = { model: "tts-1", voice: "auto", input: text, response_format: "wav" };
  if (language) body.language = language;
  const response = await api("/v1/audio/speech", {
    method: "POST", body: JSON.stringify(body), raw: true,
  });
  if (!response.ok) {
    let message = `${response.status}`;
    try { message = (await response.json()).error.message; } catch (_) { /* not JSON */ }
    throw new Error(message);
  }
  const url = URL.createObjectURL(await response.blob());
  const audio = new Audio(url);
  playing = { audio, url, done: onEnd };
  audio.addEventListener("ended", stopSpeaking);
  try { await audio.play(); } catch (_) { /* autoplay refused: the button still works */ }
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
