// Copy buttons: <button class="copy" data-copy="text"> (or data-copy-from="#id": that element's text).
// A static file, so it fits the Content-Security-Policy (script-src 'self'); no inline script.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("button.copy");
  if (!button) return;
  event.preventDefault();
  const source = button.dataset.copyFrom ? document.querySelector(button.dataset.copyFrom) : null;
  const text = source ? source.innerText.trim() : button.dataset.copy;
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // Without the clipboard API (plain http off loopback): select and copy the old way.
    const area = Object.assign(document.createElement("textarea"), { value: text });
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  const label = button.textContent;
  button.textContent = "Copied";
  button.classList.add("copied");
  setTimeout(() => { button.textContent = label; button.classList.remove("copied"); }, 1500);
});
