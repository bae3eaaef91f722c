// The site header of pages that have no script of their own (no inline scripts: the CSP allows none).
import { siteHeader } from "/aset/app.js";

siteHeader();
