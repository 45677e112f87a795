class Post < ApplicationRecord
  class NotPublishable < StandardError; end

  belongs_to :author, class_name: "User"
  has_many :comments, dependent: :destroy
  has_many :taggings, dependent: :destroy
  has_many :tags, through: :taggings
  has_one_attached :cover_image

  validates :title, presence: true, length: { maximum: 140 }
  validates :body, presence: true

  scope :published, -> { where.not(published_at: nil) }
  scope :drafts, -> { where(published_at: nil) }

  before_save :set_slug
  after_commit :notify_subscribers, if: -> { saved_change_to_published_at? && published_at.present? }

  def tag_list
    tags.map(&:name).join(", ")
  end

  def tag_list=(value)
    names = value.to_s.split(",").map(&:strip).reject(&:blank?).uniq
    self.tags = names.map { |n| Tag.find_or_create_by!(name: n.downcase) }
  end

  def publish!(by:)
    raise NotPublishable, "only the author can publish" unless by == author
    raise NotPublishable, "add a cover image first" unless cover_image.attached?
    raise NotPublishable, "already published" if published_at
    if body.split.size < 150
      raise NotPublishable, "posts need at least 150 words"
    end
    update!(published_at: Time.current)
    Rails.cache.delete("front_page")
    SearchIndexJob.perform_later(id)
  end

  def reading_minutes
    (body.split.size / 200.0).ceil
  end

  def excerpt(words = 40)
    body.split.first(words).join(" ") + (body.split.size > words ? "…" : "")
  end

  private

  def set_slug
    self.slug = "#{id}-#{title.parameterize}" if slug.blank? || will_save_change_to_title?
  end

  def notify_subscribers
    author.followers.find_each do |follower|
      PostMailer.with(post: self, to: follower).new_post.deliver_later
    end
  end
end
