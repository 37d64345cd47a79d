// itsm-connector console: refreshes the overview's live part in place.
// Served from the binary under the console's Content-Security-Policy
// (script-src 'self', connect-src 'self'); every page works without it.
(function () {
	"use strict";
	function start() {
		var live = document.getElementById("live");
		if (!live) {
			return;
		}
		var every = parseInt(live.getAttribute("data-refresh-ms"), 10) || 10000;
		var status = document.getElementById("live-status");
		var count = 0;
		function show(text, ok) {
			if (status) {
				status.textContent = text;
				status.className = ok ? "ok" : "stale";
			}
		}
		function refresh() {
			fetch(live.getAttribute("data-src"), { credentials: "same-origin", cache: "no-store", headers: { "Accept": "text/html" } })
				.then(function (r) {
					var html = (r.headers.get("Content-Type") || "").indexOf("text/html") === 0;
					return r.text().then(function (body) {
						// A failed read of the store still answers the live
						// part, with its error banner: show it, and say so.
						// Anything else (a 401 after a restart with a new
						// token) leaves the figures as they were.
						if (html) {
							live.innerHTML = body;
						}
						if (!r.ok) {
							throw new Error("HTTP " + r.status);
						}
					});
				})
				.then(function () {
					count++;
					live.setAttribute("data-refreshed", String(count));
					show("updated " + new Date().toLocaleTimeString(), true);
				})
				.catch(function (e) {
					show("refresh failed (" + e.message + "); showing older figures", false);
				})
				.finally(function () {
					window.setTimeout(refresh, every);
				});
		}
		window.setTimeout(refresh, every);
	}
	if (document.readyState === "loading") {
		document.addEventListener("DOMContentLoaded", start);
	} else {
		start();
	}
})();
