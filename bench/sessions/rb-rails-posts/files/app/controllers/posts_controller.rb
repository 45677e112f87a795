class PostsController < ApplicationController
  before_action :authenticate_user!, except: %i[index show]
  before_action :set_post, only: %i[show edit update destroy publish]

  def index
    @posts = Post.published.order(published_at: :desc).page(params[:page]).per(20)
  end

  def show
    @comments = @post.comments.order(:created_at)
  end

  def new
    @post = current_user.posts.build
  end

  def create
    @post = current_user.posts.build(post_params)
    if @post.save
      redirect_to @post, notice: "Draft saved."
    else
      render :new, status: :unprocessable_entity
    end
  end

  def update
    if @post.update(post_params)
      redirect_to @post, notice: "Post updated."
    else
      render :edit, status: :unprocessable_entity
    end
  end

  def publish
    @post.publish!(by: current_user)
    redirect_to @post, notice: "Published."
  rescue Post::NotPublishable => e
    redirect_to edit_post_path(@post), alert: e.message
  end

  def destroy
    @post.destroy!
    redirect_to posts_path, notice: "Post deleted."
  end

  private

  def set_post
    @post = Post.find(params[:id])
  end

  def post_params
    params.require(:post).permit(:title, :body, :tag_list, :cover_image)
  end
end
