"use strict";
// A message's image is fetched only when the reader asks (admin/rendering.py says why): the
// button holds its URL, and a click puts the image in its place, sent with no referrer.
// A file rather than an inline script, so that a Content-Security-Policy without
// 'unsafe-inline' still lets it run.
if (!window.officialaccountRevealImages) {
  window.officialaccountRevealImages = true;
  document.addEventListener("click", (event) => {
    const button = event.target.closest("button.officialaccount-reveal");
    if (!button) {
      return;
    }
    const image = document.createElement("img");
    image.referrerPolicy = "no-referrer";
    image.alt = button.dataset.alt || "";
    image.className = "officialaccount-revealed";
    image.style.maxWidth = "240px";
    image.style.maxHeight = "240px";
    image.src = button.dataset.src;
    button.replaceWith(image);
  });
}
