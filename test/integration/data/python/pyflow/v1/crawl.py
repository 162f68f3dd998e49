import logging
import random
import re
from urllib.parse import urljoin, urlparse

import requests
from bs4 import BeautifulSoup

logger = logging.getLogger(__name__)

IMAGE_FILE_REGEX = re.compile(r'([-\w]+\.(?:jpg|jpeg|gif|png))', re.IGNORECASE)


def crawl_page(project_data, prerequisites):
    """Picks a random image off of the passed URL."""
    result = {'status': 'success', 'image': None}
    url = project_data.get('url')
    if not url:
        result['status'] = 'error'
        result['error_message'] = 'URL was not provided.'
        return result
    logger.info('Starting to crawl %s', url)
    images = find_images(url)
    if not images:
        result['status'] = 'error'
        result['error_message'] = 'Unable to find images at the provided URL.'
        return result
    result['image'] = random.choice(sorted(images))
    return result


def find_images(url):
    """Fetches a page and returns the sources of its <img> tags."""
    images = set()
    headers = {'User-Agent': ('Mozilla/5.0 (compatible; OrchestraBot/1.0; '
                              'noreply@example.org)')}
    response = requests.get(url, headers=headers, timeout=30)
    if response.status_code < 200 or response.status_code >= 300:
        logger.error("Couldn't fetch url %s", url)
        return images
    soup = BeautifulSoup(response.text, 'html.parser')
    for tag in soup.find_all('img', src=IMAGE_FILE_REGEX):
        link = tag.get('src')
        if link is None:
            continue
        if not urlparse(link).netloc:
            link = urljoin(url, link)
        images.add(link)
    return images
