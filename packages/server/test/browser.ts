// Browser-test harness: Debian's chromium driven by playwright-core (never a downloaded browser), phone-sized pages.
import { accessSync, constants } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's chromium unless CHROMIUM_PATH names another build. */
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const launchTimeoutMs = 30_000;

/** Launches headless chromium; fails (never skips) when it is missing, saying how to install it. */
export async function launchBrowser(): Promise<Browser> {
  try {
    accessSync(chromiumPath, constants.X_OK);
  } catch {
    throw new Error(`chromium not found at ${chromiumPath}: install it with \`apt-get install -y chromium\` (or set CHROMIUM_PATH)`);
  }
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    timeout: launchTimeoutMs,
    // No sandbox: CI runs as root in a container. No GPU or background traffic: there is neither a display nor a network.
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/** A fresh context the size of a phone (390x844, touch), where the consent and payment pages are meant to be used. */
export async function newPhonePage(browser: Browser): Promise<Page> {
  const context = await browser.newContext({
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 3,
    isMobile: true,
    hasTouch: true,
  });
  return context.newPage();
}
