// The console's one script, embedded in the binary and served from the
// server itself: the content security policy allows no other and no inline code.
"use strict";

// Times arrive in UTC (kept as the tooltip); show them in the reader's zone.
function localTimes(root) {
  for (const el of root.querySelectorAll("time[datetime]")) {
    const at = new Date(el.getAttribute("datetime"));
    if (!isNaN(at.getTime())) {
      el.textContent = at.toLocaleString(document.documentElement.lang || undefined, {
        year: "numeric", month: "2-digit", day: "2-digit",
        hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short",
      });
    }
  }
}

// A button with data-copy="ID" copies the text of element ID.
function copyButtons(root) {
  for (const button of root.querySelectorAll("button[data-copy]")) {
    button.addEventListener("click", async () => {
      const source = document.getElementById(button.dataset.copy);
      if (!source) return;
      const text = source.textContent.trim();
      try {
        await navigator.clipboard.writeText(text);
      } catch (_) {
        const range = document.createRange();
        range.selectNodeContents(source);
        const selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        document.execCommand("copy");
      }
      if (button.dataset.copied) button.textContent = button.dataset.copied;
    });
  }
}

// The alert queue: keyboard triage on the row the keyboard is on, and the
// list refreshed every 15 seconds while nothing is ticked (the page itself is
// fetched again: the same markup, the same access rules, no second API).
function alertQueue() {
  const results = document.getElementById("queue-results");
  if (!results) return;
  let current = -1;
  const rows = () => Array.from(document.querySelectorAll("#alerts tbody tr"));
  const select = (i) => {
    const all = rows();
    if (!all.length) return;
    current = Math.max(0, Math.min(i, all.length - 1));
    all.forEach((row, n) => {
      row.classList.toggle("selected", n === current);
      if (n === current) row.setAttribute("aria-current", "true");
      else row.removeAttribute("aria-current");
    });
    all[current].scrollIntoView({ block: "nearest" });
  };
  // Ticks the current row alone and sends the bulk form with `action`.
  const act = (action) => {
    const row = rows()[current];
    const form = document.getElementById("bulk");
    if (!row || !form) return;
    for (const box of form.querySelectorAll("input[name=alert]")) box.checked = false;
    row.querySelector("input[name=alert]").checked = true;
    form.querySelector("select[name=action]").value = action;
    form.submit();
  };
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const typing = event.target && ["INPUT", "SELECT", "TEXTAREA"].includes(event.target.tagName);
    if (typing) return;
    const row = rows()[current];
    switch (event.key) {
      case "j": select(current + 1); break;
      case "k": select(current - 1); break;
      case "o": case "Enter": if (!row) return; location.href = row.dataset.href; break;
      case "x": if (!row) return; { const box = row.querySelector("input[name=alert]"); box.checked = !box.checked; } break;
      case "a": act("acknowledge"); break;
      case "m": act("assign_to_me"); break;
      case "c": if (!row) return; location.href = row.dataset.href + "#close-form"; break;
      default: return;
    }
    event.preventDefault();
  });
  setInterval(async () => {
    if (document.hidden || document.querySelector("#alerts input[name=alert]:checked")) return;
    try {
      const answer = await fetch(location.href, { credentials: "same-origin" });
      if (!answer.ok) return;
      const page = new DOMParser().parseFromString(await answer.text(), "text/html");
      const fresh = page.getElementById("queue-results");
      const now = document.getElementById("queue-results");
      if (!fresh || !now) return;
      now.replaceWith(fresh);
      localTimes(fresh);
      if (current >= 0) select(current);
    } catch (_) {
      // Offline for a moment: the next refresh tries again.
    }
  }, 15000);
}

document.addEventListener("DOMContentLoaded", () => {
  localTimes(document);
  copyButtons(document);
  alertQueue();
});
